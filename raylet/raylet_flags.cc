#include "raylet/raylet_flags.h"

#include <unistd.h>

#include <cstdlib>
#include <limits>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/auth.h"
#include "common/host_flag.h"
#include "common/logging.h"
#include "common/net_address.h"

namespace weft {

void AddRayletFlags(CLI::App& app, RayletFlags& f) {
  app.add_flag("--head", f.head, "Run the head services (and a local node unless --num-cpus 0)");
  app.add_option("--address", f.address, "host:port of the head to join")->excludes("--head");
  app.add_option("--host", f.host,
                 "Interface to listen on (0.0.0.0: every one). Default 127.0.0.1; a node "
                 "joining a head beyond loopback listens on its address toward the head")
      ->capture_default_str()
      ->each([&f](const std::string&) { f.host_given = true; });
  // Also from the environment, as the systemd units pass it (an empty value: the default).
  app.add_option("--advertise-address", f.advertise_address,
                 "The host others reach this raylet and its workers at: a DNS name or an IP "
                 "address, no port (default: $WEFT_ADVERTISE_ADDRESS, else --host; for "
                 "0.0.0.0, a node's address toward its head, a head's first interface's)")
      ->envname("WEFT_ADVERTISE_ADDRESS")
      ->check(AdvertisableHost());
  app.add_option("--port", f.port, "Port to listen on; 0 picks a free one")
      ->check(CLI::Range(0, 65535))
      ->capture_default_str();
  app.add_option("--num-cpus", f.num_cpus, "CPUs this node offers")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  app.add_option("--memory", f.memory, "Bytes of memory this node offers")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--object-store-memory", f.object_store_memory,
                 "Bytes of the node's object store, e.g. 2GiB (default: 30% of the machine's "
                 "memory); beyond it, results spill to files under the session dir")
      ->transform(CLI::AsSizeValue(false))
      ->check(CLI::NonNegativeNumber);
  app.add_option(
         "--max-message-size", f.max_message_size,
         "Head: the largest message between the cluster's processes, e.g. 64MiB (default 1GiB, "
         "4MiB to 2047MiB); a call whose arguments passed by value weigh more fails alone. "
         "Nodes, workers and drivers follow their head's")
      ->transform(CLI::AsSizeValue(false))
      ->check(CLI::Range(int64_t{kMinMaxMessageBytes}, int64_t{std::numeric_limits<int>::max()}))
      ->needs("--head");
  app.add_option("--resources", f.resources_json, "Custom resources as JSON, e.g. '{\"GPU\": 1}'");
  app.add_option("--session-dir", f.session_dir, "Folder for token, logs and records")
      ->capture_default_str();
  app.add_option("--token-file", f.token_file, "Cluster token file (default: <session>/token)");
  app.add_option("--storage", f.storage,
                 "Head: where its tables are kept: a file (default: $WEFT_STORAGE, else "
                 "<session>/head_state.sqlite), redis://host:port[/db], or memory (nothing "
                 "survives the head). A head started on a store that holds a cluster takes "
                 "that cluster over")
      ->needs("--head");
  app.add_option("--storage-password-file", f.storage_password_file,
                 "Head: file holding the Redis password (else $WEFT_STORAGE_PASSWORD)")
      ->needs("--storage");
  app.add_flag("--fresh-state", f.fresh_state,
               "Head: set the stored state aside (renamed *.discarded-<time>) and start a new "
               "cluster, e.g. when the store is damaged")
      ->needs("--head");
  auto* tls = app.add_flag("--tls", f.tls,
                           "TLS on every connection, under the cluster's certificate authority "
                           "(the head makes it; a node joining gets a certificate with the "
                           "token). On by default beyond loopback");
  auto* mutual = app.add_flag("--mutual-tls", f.mutual_tls,
                              "Head: TLS on every connection, and every server of the cluster "
                              "takes only connections that show a certificate of its CA; "
                              "certificates are issued on the head's machine (weft certificate "
                              "issue), never for the token alone")
                     ->needs("--head");
  auto* ca = app.add_option("--tls-ca", f.tls_ca,
                            "The cluster CA's certificate (PEM); a head given it with --tls-cert "
                            "and --tls-key serves under that (the operator's) CA and signs "
                            "no certificate");
  auto* cert = app.add_option("--tls-cert", f.tls_cert,
                              "This raylet's certificate, signed by the cluster's CA (a node's: "
                              "weft certificate issue on the head's machine; needed under "
                              "mutual TLS)");
  auto* key = app.add_option("--tls-key", f.tls_key, "The private key of --tls-cert");
  ca->needs(cert)->needs(key);
  cert->needs(ca)->needs(key);
  key->needs(ca)->needs(cert);
  app.add_flag("--insecure", f.insecure,
               "Plaintext beyond loopback: the token and all data cross the network in clear "
               "(warned on every start)")
      ->excludes(tls)
      ->excludes(mutual)
      ->excludes(cert);
  app.add_option("--max-connections", f.max_connections,
                 "Connections its server holds at once; more are refused at once (default: "
                 "half the open-file limit, at most 65536)")
      ->check(CLI::Range(1, 1 << 20));
  app.add_option("--max-connections-per-address", f.max_connections_per_address,
                 "Connections its server holds at once from one address (default 4096): a "
                 "flood from one host does not keep the others out")
      ->check(CLI::Range(1, 1 << 20));
  auto* dashboard = app.add_option(
      "--dashboard-port", f.dashboard_port,
      "Head: the web dashboard's port, on --host (default 8265, or any free port when that one "
      "is in use; 0: any free port). A port given and in use: a warning, no dashboard");
  dashboard->check(CLI::Range(0, 65535));
  app.add_flag("--no-dashboard", f.no_dashboard, "Head: serve no web dashboard")
      ->excludes(dashboard);
  app.add_option("--metrics-port", f.metrics_port,
                 "Node: port of its Prometheus /metrics (its workers' calls per class and "
                 "method), on --host (default 0: any free port; -1: none)")
      ->check(CLI::Range(-1, 65535));
  app.add_option("--heartbeat-period-ms", f.heartbeat_period_ms)->check(CLI::Range(10, 60000));
  app.add_option("--node-timeout-ms", f.node_timeout_ms,
                 "Head: silence after which it declares a node DEAD. A node takes its head's "
                 "value when it registers and fences itself (kills its workers) before that")
      ->check(CLI::Range(50, 600000));
  app.add_option("--head-lost-timeout-ms", f.head_lost_timeout_ms,
                 "Head: how long its nodes keep their workers while no head runs, and how long "
                 "a restarted head waits for them. Node: a fenced node rejoins as a new node "
                 "until this long after its head last answered, then exits")
      ->check(CLI::Range(100, 3600000))
      ->capture_default_str();
  app.add_option("--shutdown-grace-ms", f.shutdown_grace_ms)->check(CLI::Range(0, 600000));
  app.add_option("--ready-fd", f.ready_fd, "File descriptor told the address once serving");
  app.add_option("--exit-with-pid", f.exit_with_pid, "Stop when the process with this pid ends")
      ->check(CLI::PositiveNumber);
  app.add_option("--worker-binary", f.worker_binary)->capture_default_str();
}

namespace {

// The cluster token, what is said explicitly first: --token-file, then $WEFT_TOKEN; else a
// joining node, and a head that takes over a stored cluster, read the session's token, and a
// head of a new cluster makes a new one (written to the session).
// (`maybe_stored`: a store that cannot be looked into before the head opens it, Redis; the head
// then checks the token against the cluster's, see Head::Create.)
absl::StatusOr<std::string> ResolveToken(const RayletFlags& f, const SessionDir& session,
                                         bool stored_cluster, bool maybe_stored) {
  if (!f.token_file.empty()) return ReadTokenFile(f.token_file);
  if (const char* env = std::getenv("WEFT_TOKEN"); env && *env) {
    if (auto valid = CheckToken(env, "$WEFT_TOKEN"); !valid.ok()) return valid;
    return std::string(env);
  }
  if (f.head && (stored_cluster || maybe_stored)) {
    auto token = ReadTokenFile(session.TokenPath());
    if (token.ok() || token.status().code() != absl::StatusCode::kNotFound) return token;
  }
  if (f.head && stored_cluster) {
    // A new token would lock every node of the stored cluster out.
    return absl::FailedPreconditionError(absl::StrCat(
        "the stored cluster's token is not at ", session.TokenPath(),
        ": pass its token with --token-file, or --fresh-state to start a new cluster"));
  }
  if (!f.head) {
    auto token = ReadTokenFile(session.TokenPath());
    if (token.ok()) return token;
    return absl::NotFoundError(absl::StrCat(
        "no cluster token: pass --token-file, set WEFT_TOKEN, or copy the head's token to ",
        session.TokenPath()));
  }
  return GenerateToken();
}

// Where the raylet listens and where others reach it (issue 14): a node that listened on
// loopback would register an address its head and the other nodes cannot reach.
absl::Status SettleAddresses(const RayletFlags& f, const RouteToward& toward, RayletOptions& o) {
  o.host = f.host;
  o.host_toward_head = !f.head && !f.host_given && !IsLoopback(f.address);
  const bool wildcard = !o.host_toward_head && IsWildcard(o.host);
  o.advertise_host = f.advertise_address;
  o.advertise_toward_head =
      f.advertise_address.empty() && !f.head && (o.host_toward_head || wildcard);
  if (o.advertise_host.empty() && !o.advertise_toward_head) {
    o.advertise_host = wildcard ? AdvertisedHost(o.host) : o.host;
  }
  return FollowRouteTowardHead(o, toward).status();
}

}  // namespace

absl::StatusOr<bool> FollowRouteTowardHead(RayletOptions& o, const RouteToward& toward) {
  if (!o.host_toward_head && !o.advertise_toward_head) return false;
  auto local = toward(o.head_address);
  if (!local.ok()) {
    return absl::Status(
        local.status().code(),
        absl::StrCat("cannot find this machine's address toward the head at ", o.head_address, ": ",
                     local.status().message(),
                     "; pass --host <an address of this machine the head reaches>, or --host "
                     "0.0.0.0 --advertise-address <the address others reach this node at>"));
  }
  const std::string host = o.host_toward_head ? *local : o.host;
  const std::string advertised = o.advertise_toward_head ? *local : o.advertise_host;
  const bool moved = host != o.host || advertised != o.advertise_host;
  o.host = host;
  o.advertise_host = advertised;
  return moved;
}

absl::StatusOr<RayletOptions> MakeRayletOptions(const RayletFlags& f, const RouteToward& toward) {
  if (!f.head && f.address.empty()) {
    return absl::InvalidArgumentError(
        "pass --head to start a head, or --address HOST:PORT to join");
  }
  if (f.node_timeout_ms < 3 * f.heartbeat_period_ms) {
    return absl::InvalidArgumentError(absl::StrCat("--node-timeout-ms (", f.node_timeout_ms,
                                                   ") must be at least three heartbeat periods (",
                                                   3 * f.heartbeat_period_ms, ")"));
  }
  auto custom = ParseResourcesJson(f.resources_json);
  if (!custom.ok()) return custom.status();
  RayletOptions o;
  o.head = f.head;
  o.local_node = !(f.head && f.num_cpus == 0);
  o.head_address = f.address;
  if (auto settled = SettleAddresses(f, toward, o); !settled.ok()) return settled;
  o.port = f.port;
  o.resources = *custom;
  o.resources["CPU"] = f.num_cpus;
  o.resources["memory"] = f.memory;
  o.object_store_memory = f.object_store_memory;
  if (f.head) SetMaxMessageBytes(static_cast<int>(f.max_message_size));
  o.session_dir = f.session_dir;
  o.fresh_state = f.fresh_state;
  // Beyond loopback, TLS unless --insecure (issue 13): the token never crosses a network in
  // clear by default.
  // (Where it listens, and where others reach it: plaintext on every interface is plaintext
  // beyond loopback, whatever it advertises.)
  const bool beyond_loopback = BeyondLoopback(o.host, o.advertise_host) ||
                               (!f.head && !f.address.empty() && !IsLoopback(f.address));
  o.tls = f.tls || f.mutual_tls || !f.tls_cert.empty() || (beyond_loopback && !f.insecure);
  o.mutual_tls = f.mutual_tls;
  o.max_connections = f.max_connections;
  o.dashboard_port = f.no_dashboard ? -1 : f.dashboard_port.value_or(o.dashboard_port);
  o.dashboard_port_fallback = !f.dashboard_port.has_value();
  o.metrics_port = f.metrics_port;
  o.max_connections_per_peer = f.max_connections_per_address;
  o.tls_ca_file = f.tls_ca;
  o.tls_cert_file = f.tls_cert;
  o.tls_key_file = f.tls_key;
  o.insecure = f.insecure;
  if (f.insecure && beyond_loopback) {
    spdlog::warn(
        "--insecure: this {} talks plaintext beyond loopback; the cluster token and every "
        "argument and result cross the network in clear",
        f.head ? "head" : "node");
  }
  if (!f.storage_password_file.empty()) {
    auto password = ReadFile(f.storage_password_file);
    if (!password.ok()) return password.status();
    o.storage_password = std::string(absl::StripAsciiWhitespace(*password));
  } else if (const char* env = std::getenv("WEFT_STORAGE_PASSWORD"); env && *env) {
    o.storage_password = env;
  }
  o.heartbeat_period = absl::Milliseconds(f.heartbeat_period_ms);
  o.node_timeout = absl::Milliseconds(f.node_timeout_ms);
  o.head_lost_timeout = absl::Milliseconds(f.head_lost_timeout_ms);
  o.shutdown_grace = absl::Milliseconds(f.shutdown_grace_ms);
  o.ready_fd = f.ready_fd;
  o.exit_with_pid = f.exit_with_pid;
  o.worker_binary = f.worker_binary;
  o.driver_guard = "/proc/self/exe";  // weft-raylet: its main runs the guard
  const SessionDir session(o.session_dir);
  if (auto status = session.Create(); !status.ok()) return status;
  if (f.head) {
    auto lock = session.LockHead();  // held until this process exits
    if (!lock.ok()) return lock.status();
  }
  std::string storage = f.storage;
  if (const char* env = std::getenv("WEFT_STORAGE"); storage.empty() && env && *env) {
    storage = env;
  }
  if (storage.empty()) storage = session.HeadStatePath();
  o.storage = storage;
  const bool stored_cluster =
      f.head && !f.fresh_state && storage != "memory" && access(storage.c_str(), F_OK) == 0;
  const bool maybe_stored = f.head && !f.fresh_state && absl::StartsWith(storage, "redis://");
  auto token = ResolveToken(f, session, stored_cluster, maybe_stored);
  if (!token.ok()) return token.status();
  o.token = *token;
  // A head writes its token to its session once the cluster took it (raylet.cc): a head started
  // with a stale $WEFT_TOKEN must not overwrite a rotated token it is then refused for.
  // Where the token was read from, and a head's session: rewritten when it is rotated.
  const bool from_env =
      f.token_file.empty() && std::getenv("WEFT_TOKEN") && *std::getenv("WEFT_TOKEN");
  if (!f.token_file.empty()) o.token_files.push_back(f.token_file);
  if (f.head || (f.token_file.empty() && !from_env)) o.token_files.push_back(session.TokenPath());
  return o;
}

}  // namespace weft
