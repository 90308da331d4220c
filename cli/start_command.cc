// weft start: launches a weft-raylet (head or joining node) and returns once it serves.

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <iostream>
#include <limits>
#include <optional>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "cli/command.h"
#include "common/host_flag.h"
#include "common/ids.h"
#include "common/net_address.h"
#include "common/process.h"
#include "common/resources.h"
#include "common/rpc.h"
#include "common/session_dir.h"

namespace weft::cli {
namespace {

struct StartOptions {
  bool head = false;
  std::string address;
  std::string host;  // empty: the raylet's default (127.0.0.1, or toward a remote head)
  std::string advertise_address;
  std::optional<int> port;
  std::optional<double> num_cpus;
  std::optional<double> memory;
  std::optional<int64_t> object_store_memory;
  std::optional<int64_t> max_message_size;
  std::string resources;
  std::string session_dir = SessionDir::Default();
  std::string token_file;
  std::string storage;
  std::string storage_password_file;
  bool fresh_state = false;
  bool tls = false;
  bool mutual_tls = false;
  std::optional<int> max_connections;
  std::optional<int> dashboard_port;
  bool no_dashboard = false;
  std::optional<int> metrics_port;
  std::optional<int> max_connections_per_address;
  std::string tls_ca;
  std::string tls_cert;
  std::string tls_key;
  bool insecure = false;
  std::optional<int> node_timeout_ms;
  std::optional<int> heartbeat_period_ms;
  std::optional<int> head_lost_timeout_ms;
  bool block = false;
  std::optional<int> exit_with_pid;
  int ready_timeout_s = 30;
};

constexpr int kDefaultHeadPort = 7070;

std::vector<std::string> RayletArgv(const StartOptions& o, int ready_fd) {
  std::vector<std::string> argv = {SiblingExecutable("weft-raylet"), "--session-dir", o.session_dir,
                                   "--ready-fd", std::to_string(ready_fd)};
  auto add = [&](const std::string& flag, const std::string& value) {
    argv.push_back(flag);
    argv.push_back(value);
  };
  if (o.head) argv.push_back("--head");
  if (!o.host.empty()) add("--host", o.host);
  if (!o.advertise_address.empty()) add("--advertise-address", o.advertise_address);
  if (!o.address.empty()) add("--address", o.address);
  add("--port", std::to_string(o.port.value_or(o.head ? kDefaultHeadPort : 0)));
  if (o.num_cpus) add("--num-cpus", absl::StrFormat("%g", *o.num_cpus));
  if (o.memory) add("--memory", absl::StrFormat("%.0f", *o.memory));
  if (o.object_store_memory) add("--object-store-memory", std::to_string(*o.object_store_memory));
  if (o.max_message_size) add("--max-message-size", std::to_string(*o.max_message_size));
  if (!o.resources.empty()) add("--resources", o.resources);
  if (!o.token_file.empty()) add("--token-file", o.token_file);
  if (!o.storage.empty()) add("--storage", o.storage);
  if (!o.storage_password_file.empty()) add("--storage-password-file", o.storage_password_file);
  if (o.fresh_state) argv.push_back("--fresh-state");
  if (o.tls) argv.push_back("--tls");
  if (o.mutual_tls) argv.push_back("--mutual-tls");
  if (o.max_connections) add("--max-connections", std::to_string(*o.max_connections));
  if (o.dashboard_port) add("--dashboard-port", std::to_string(*o.dashboard_port));
  if (o.no_dashboard) argv.push_back("--no-dashboard");
  if (o.metrics_port) add("--metrics-port", std::to_string(*o.metrics_port));
  if (o.max_connections_per_address) {
    add("--max-connections-per-address", std::to_string(*o.max_connections_per_address));
  }
  // Absolute: the raylet does not run where this command was typed.
  if (!o.tls_ca.empty()) add("--tls-ca", std::filesystem::absolute(o.tls_ca).string());
  if (!o.tls_cert.empty()) add("--tls-cert", std::filesystem::absolute(o.tls_cert).string());
  if (!o.tls_key.empty()) add("--tls-key", std::filesystem::absolute(o.tls_key).string());
  if (o.insecure) argv.push_back("--insecure");
  if (o.node_timeout_ms) add("--node-timeout-ms", std::to_string(*o.node_timeout_ms));
  if (o.heartbeat_period_ms) add("--heartbeat-period-ms", std::to_string(*o.heartbeat_period_ms));
  if (o.head_lost_timeout_ms)
    add("--head-lost-timeout-ms", std::to_string(*o.head_lost_timeout_ms));
  if (o.exit_with_pid) add("--exit-with-pid", std::to_string(*o.exit_with_pid));
  return argv;
}

// The signals that stop `weft start`: held (blocked) from before the spawn, so that a
// Ctrl-C at any moment reaches the raylet instead of orphaning it.
sigset_t StopSignals() {
  sigset_t set;
  sigemptyset(&set);
  for (int sig : {SIGINT, SIGTERM, SIGHUP}) sigaddset(&set, sig);
  return set;
}

bool StopRequested() {
  const sigset_t stop = StopSignals();
  const timespec now{0, 0};
  return sigtimedwait(&stop, nullptr, &now) > 0;
}

// Reads the raylet's "<address>\n" from the ready pipe; empty if it exits or times out first,
// or if this command is asked to stop meanwhile.
std::string AwaitReady(int fd, absl::Duration timeout) {
  std::string line;
  const absl::Time deadline = absl::Now() + timeout;
  while (line.find('\n') == std::string::npos) {
    const auto left = absl::ToInt64Milliseconds(deadline - absl::Now());
    if (left <= 0 || StopRequested()) return "";
    pollfd p{fd, POLLIN, 0};
    const int ready = poll(&p, 1, static_cast<int>(std::min<int64_t>(left, 100)));
    if (ready < 0) return "";
    if (ready == 0) continue;
    char buf[256];
    const ssize_t n = read(fd, buf, sizeof(buf));
    if (n <= 0) return "";
    line.append(buf, n);
  }
  return std::string(absl::StripAsciiWhitespace(line));
}

std::string TailOf(const std::string& path, size_t max_chars) {
  auto text = ReadFile(path);
  if (!text.ok()) return "";
  return text->size() > max_chars ? text->substr(text->size() - max_chars) : *text;
}

void PrintStarted(const StartOptions& o, const std::string& address, pid_t pid,
                  const std::string& log) {
  const SessionDir session(o.session_dir);
  // Where the raylet listens (the raylet's default is loopback unless it joins a head beyond
  // it) as well as where it is reached: a raylet on every interface that advertises loopback
  // still takes plaintext from the network.
  const bool beyond_loopback = BeyondLoopback(o.host.empty() ? "127.0.0.1" : o.host, address) ||
                               (!o.address.empty() && !IsLoopback(o.address));
  if (o.insecure && beyond_loopback) {
    std::cout << "WARNING: --insecure: plaintext beyond loopback; the cluster token and every "
                 "argument and result cross the network in clear.\n";
  }
  // The head's own files say whether it serves TLS (on by default beyond loopback).
  const bool tls = o.head && access((session.TlsDir() + "/ca.pem").c_str(), F_OK) == 0;
  if (o.head) {
    // Where a node's and a remote driver's certificates come from: nowhere (the head signs
    // one for the token), `weft certificate issue` here (mutual TLS), or the operator's CA.
    const bool operator_ca = !o.tls_cert.empty();
    const bool brings_certificate = o.mutual_tls || operator_ca;
    const std::string node_files =
        operator_ca ? " --tls-ca " + std::filesystem::absolute(o.tls_ca).string() +
                          " --tls-cert <its certificate> --tls-key <its key>"
                    : " --tls-ca DIR/ca.pem --tls-cert DIR/cert.pem --tls-key DIR/key.pem";
    std::cout << "Weft head started at " << address << " (raylet pid " << pid << ")\n"
              << "  session dir: " << session.root() << "\n"
              << "  token:       " << session.TokenPath() << " (mode 0600)\n"
              << "  log:         " << log << "\n";
    // Written by the head before it said it was ready; missing when it could not have its port.
    if (auto url = ReadFile(session.DashboardUrlPath()); url.ok()) {
      std::cout << "  dashboard:   " << absl::StripAsciiWhitespace(*url)
                << " (log in with the token)\n";
    } else if (!o.no_dashboard) {
      std::cout << "  dashboard:   none (its port was in use: see the log)\n";
    }
    if (tls) {
      std::cout << "  TLS:         every connection, under "
                << (operator_ca ? "the operator's CA " : "the cluster CA ") << session.TlsDir()
                << "/ca.pem\n";
    }
    if (o.mutual_tls) {
      std::cout << "               mutual: each side shows a certificate of the cluster's CA\n";
    }
    if (operator_ca) {
      std::cout << "               the head holds no CA key: every node, and every driver "
                   "beyond this machine, brings a certificate of that CA\n";
    }
    std::cout << "\nTo add a node, "
              << (o.mutual_tls && !operator_ca ? "issue its certificate here, then " : "")
              << "run on it (copy the token file"
              << (brings_certificate ? " and its TLS files" : "") << " to other machines):\n";
    if (o.mutual_tls && !operator_ca) {
      std::cout << "  weft certificate issue --session-dir " << session.root()
                << " --host <node address> --out DIR\n";
    }
    std::cout << "  weft start --address " << address << " --token-file " << session.TokenPath()
              << (brings_certificate ? node_files : "") << "\n"
              << "\nDrivers on this machine find the cluster through the session dir; "
                 "elsewhere set WEFT_ADDRESS and WEFT_TOKEN"
              << (brings_certificate ? ", WEFT_TLS_CA, WEFT_TLS_CERT and WEFT_TLS_KEY (a "
                                       "certificate for the host it runs on, as for a node)"
                  : tls ? " (they fetch the CA from the head, which proves it knows the token)"
                        : "")
              << ".\n"
              << "To stop it: weft stop --session-dir " << session.root() << "\n";
  } else {
    std::cout << "Weft node started at " << address << " (raylet pid " << pid << "), joined "
              << o.address << "\n  log: " << log << "\n"
              << "To stop it: weft stop --session-dir " << session.root() << "\n";
  }
}

// --block: waits for the raylet, passing Ctrl-C, SIGTERM and SIGHUP on to it (it leads its
// own process group, so the terminal's signals reach only this command).
absl::Status StayInForeground(pid_t raylet) {
  const sigset_t forwarded = StopSignals();  // blocked since before the spawn
  const timespec tick{0, 100'000'000};
  int wait_status = 0;
  while (waitpid(raylet, &wait_status, WNOHANG) == 0) {
    if (sigtimedwait(&forwarded, nullptr, &tick) > 0) kill(raylet, SIGTERM);
  }
  if (WIFEXITED(wait_status) && WEXITSTATUS(wait_status) == 0) return absl::OkStatus();
  return absl::AbortedError(
      absl::StrCat("weft-raylet ended with ", DescribeWaitStatus(wait_status)));
}

struct Launched {
  pid_t pid;
  std::string address;
  std::string log;  // where its output goes ("(this terminal)" with --block)
};

// Starts weft-raylet and waits for its ready line. When it does not become ready, it is
// killed and the error carries the end of its log.
absl::StatusOr<Launched> LaunchRaylet(const StartOptions& o, const SessionDir& session) {
  int pipe_fds[2];
  if (pipe2(pipe_fds, O_CLOEXEC) != 0) return absl::InternalError("cannot create a pipe");
  fcntl(pipe_fds[1], F_SETFD, 0);  // the raylet inherits the write end only
  SpawnOptions spawn;
  spawn.argv = RayletArgv(o, pipe_fds[1]);
  Launched launched{0, "", "(this terminal)"};
  if (!o.block) {
    launched.log = absl::StrCat(session.LogsDir(), "/raylet-", o.head ? "head-" : "node-",
                                RandomHex(4), ".log");
    spawn.stdout_path = spawn.stderr_path = launched.log;
    spawn.new_session = true;  // outlives this command and its terminal
  }
  const sigset_t stop = StopSignals();
  sigprocmask(SIG_BLOCK, &stop, nullptr);  // the child starts with an empty mask
  auto pid = SpawnProcess(spawn);
  close(pipe_fds[1]);
  if (pid.ok()) launched.address = AwaitReady(pipe_fds[0], absl::Seconds(o.ready_timeout_s));
  close(pipe_fds[0]);
  if (!pid.ok()) return pid.status();
  launched.pid = *pid;
  if (!launched.address.empty()) return launched;
  kill(*pid, SIGKILL);
  int wait_status = 0;
  waitpid(*pid, &wait_status, 0);
  return absl::UnavailableError(absl::StrCat(
      "weft-raylet did not become ready (", DescribeWaitStatus(wait_status), ")",
      o.block ? ""
              : absl::StrCat("; last lines of ", launched.log, ":\n", TailOf(launched.log, 2000))));
}

absl::Status RunStart(const StartOptions& o) {
  if (o.head == !o.address.empty()) {
    return absl::InvalidArgumentError(
        "pass --head to start a cluster, or --address HOST:PORT to join one");
  }
  if (!o.resources.empty()) {
    if (auto parsed = ParseResourcesJson(o.resources); !parsed.ok()) return parsed.status();
  }
  const SessionDir session(o.session_dir);
  if (auto status = session.Create(); !status.ok()) return status;
  auto launched = LaunchRaylet(o, session);
  if (!launched.ok()) return launched.status();
  PrintStarted(o, launched->address, launched->pid, launched->log);
  return o.block ? StayInForeground(launched->pid) : absl::OkStatus();
}

}  // namespace

void AddStartCommand(CLI::App& app) {
  auto o = std::make_shared<StartOptions>();
  auto* cmd = app.add_subcommand("start", "Start a head (--head) or join a node (--address)");
  cmd->add_flag("--head", o->head, "Start a new cluster: head services plus a local node");
  cmd->add_option("--address", o->address, "host:port of the head to join")->excludes("--head");
  cmd->add_option("--host", o->host,
                  "Interface to listen on (0.0.0.0 for every one). Default 127.0.0.1; a node "
                  "joining a head beyond loopback listens on its address toward the head");
  cmd->add_option("--advertise-address", o->advertise_address,
                  "The host others reach this raylet and its workers at: a DNS name or an IP "
                  "address, no port (default: --host; "
                  "for 0.0.0.0, a node's address toward its head, a head's first interface's)")
      ->check(AdvertisableHost());
  cmd->add_option("--port", o->port, "Port; 0 picks a free one (head default 7070, node 0)")
      ->check(CLI::Range(0, 65535));
  cmd->add_option("--num-cpus", o->num_cpus,
                  "CPUs offered (default: all); 0 on the head "
                  "runs no local node")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--memory", o->memory, "Bytes of memory offered (default: all)")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--object-store-memory", o->object_store_memory,
                  "Bytes the node's workers keep large results in, e.g. 2GiB (default: 30% of "
                  "the machine's memory); beyond it results spill to files in the session dir")
      ->transform(CLI::AsSizeValue(false))
      ->check(CLI::PositiveNumber);
  cmd->add_option(
         "--max-message-size", o->max_message_size,
         "Head: the largest message between the cluster's processes, e.g. 64MiB (default 1GiB, "
         "4MiB to 2047MiB); a call whose arguments passed by value weigh more fails alone. "
         "Nodes, workers and drivers follow their head's")
      ->transform(CLI::AsSizeValue(false))
      ->check(CLI::Range(int64_t{kMinMaxMessageBytes}, int64_t{std::numeric_limits<int>::max()}))
      ->needs("--head");
  cmd->add_option("--resources", o->resources, "Custom resources as JSON, e.g. '{\"GPU\": 2}'");
  auto* dashboard = cmd->add_option("--dashboard-port", o->dashboard_port,
                                    "Head: port of the web dashboard and /metrics, on --host "
                                    "(default 8265, else a free one; 0 picks a free one)")
                        ->check(CLI::Range(0, 65535))
                        ->needs("--head");
  cmd->add_flag("--no-dashboard", o->no_dashboard, "Head: serve no web dashboard")
      ->needs("--head")
      ->excludes(dashboard);
  cmd->add_option("--metrics-port", o->metrics_port,
                  "Port of the node's Prometheus /metrics (its workers' calls per class and "
                  "method), on --host (default: any free port; -1: none)")
      ->check(CLI::Range(-1, 65535));
  cmd->add_option("--session-dir", o->session_dir,
                  "Folder for token, logs, records "
                  "($WEFT_SESSION_DIR)")
      ->capture_default_str();
  cmd->add_option("--token-file", o->token_file,
                  "Cluster token (joining nodes; default: the "
                  "session's token)");
  cmd->add_option("--storage", o->storage,
                  "Head: where the cluster's tables are kept: a file (default: "
                  "<session>/head_state.sqlite) or redis://host:port[/db]. A head started "
                  "again on it takes the cluster over: nodes, jobs and actors keep running")
      ->needs("--head");
  cmd->add_option("--storage-password-file", o->storage_password_file,
                  "Head: file holding the Redis password (else $WEFT_STORAGE_PASSWORD)")
      ->needs("--storage");
  cmd->add_flag("--fresh-state", o->fresh_state,
                "Head: set the stored state aside and start a new cluster")
      ->needs("--head");
  auto* tls = cmd->add_flag(
      "--tls", o->tls,
      "TLS on every connection (the default beyond loopback): the head makes the cluster's "
      "certificate authority (kept with its state); a node joining gets a certificate with the "
      "token");
  auto* mutual = cmd->add_flag("--mutual-tls", o->mutual_tls,
                               "Head: TLS on every connection, and every server of the cluster "
                               "takes only connections that show a certificate of its CA: "
                               "issued on the head's machine (weft certificate issue), never "
                               "for the token alone")
                     ->needs("--head");
  auto* ca = cmd->add_option("--tls-ca", o->tls_ca,
                             "The cluster CA's certificate file. A head given --tls-ca, "
                             "--tls-cert and --tls-key serves under that (the operator's) CA "
                             "instead of making its own, and signs no certificate: every node "
                             "brings one of it")
                 ->check(CLI::ExistingFile);
  auto* cert = cmd->add_option("--tls-cert", o->tls_cert,
                               "This raylet's certificate file, signed by the cluster's CA "
                               "(for a node: from `weft certificate issue` on the head's "
                               "machine, needed under --mutual-tls)")
                   ->check(CLI::ExistingFile);
  auto* key = cmd->add_option("--tls-key", o->tls_key, "The private key of --tls-cert")
                  ->check(CLI::ExistingFile);
  ca->needs(cert)->needs(key);
  cert->needs(ca)->needs(key);
  key->needs(ca)->needs(cert);
  cmd->add_flag("--insecure", o->insecure,
                "Plaintext beyond loopback: the token and all data cross the network in clear")
      ->excludes(tls)
      ->excludes(mutual)
      ->excludes(cert);
  cmd->add_option("--max-connections", o->max_connections,
                  "Connections the raylet's server holds at once; more are refused at once "
                  "(default: half the open-file limit, at most 65536)")
      ->check(CLI::Range(1, 1 << 20));
  cmd->add_option("--max-connections-per-address", o->max_connections_per_address,
                  "Connections it holds at once from one address (default 4096): a flood from "
                  "one host does not keep the others out")
      ->check(CLI::Range(1, 1 << 20));
  cmd->add_option("--node-timeout-ms", o->node_timeout_ms,
                  "Head: silence before it declares a node DEAD (default 5000); nodes take "
                  "the head's value when they join and fence themselves before it")
      ->check(CLI::Range(50, 600000));
  cmd->add_option("--heartbeat-period-ms", o->heartbeat_period_ms,
                  "Head: heartbeat period "
                  "(default 500)")
      ->check(CLI::Range(10, 60000));
  cmd->add_option("--head-lost-timeout-ms", o->head_lost_timeout_ms,
                  "Head: how long its nodes keep their workers while no head runs, and how "
                  "long a restarted head waits for them. Node: a fenced node rejoins as a new "
                  "node until this long after its head last answered, then exits (default "
                  "60000)")
      ->check(CLI::Range(100, 3600000));
  cmd->add_flag("--block", o->block, "Stay in the foreground until the daemon stops");
  cmd->add_option("--exit-with-pid", o->exit_with_pid,
                  "Stop the daemon (and its workers) when the process with this pid ends: a "
                  "program's or a test's own cluster goes with it, even if it is killed")
      ->check(CLI::PositiveNumber);
  OnRun(cmd, o, &RunStart);
}

}  // namespace weft::cli
