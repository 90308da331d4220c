#pragma once

// weft-raylet's flags, and the options they settle into (see raylet_options.h).

#include <CLI/CLI.hpp>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <thread>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/net_address.h"
#include "common/process.h"
#include "common/rpc.h"
#include "common/session_dir.h"
#include "raylet/raylet_options.h"

namespace weft {

// Flag values; defaults come from RayletOptions so they are stated once.
struct RayletFlags {
  static int Millis(absl::Duration d) { return static_cast<int>(absl::ToInt64Milliseconds(d)); }

  bool head = false;
  std::string address;
  std::string host = RayletOptions().host;
  bool host_given = false;  // else a node joining a head beyond loopback listens toward it
  std::string advertise_address;
  int port = 0;
  double num_cpus = std::thread::hardware_concurrency();
  double memory = TotalMemoryBytes();
  std::string resources_json = "{}";
  std::string session_dir = SessionDir::Default();
  std::string token_file;
  std::string storage;
  std::string storage_password_file;
  bool fresh_state = false;
  bool tls = false;
  bool mutual_tls = false;
  std::string tls_ca;
  std::string tls_cert;
  std::string tls_key;
  bool insecure = false;
  int heartbeat_period_ms = Millis(RayletOptions().heartbeat_period);
  int node_timeout_ms = Millis(RayletOptions().node_timeout);
  int head_lost_timeout_ms = Millis(RayletOptions().head_lost_timeout);
  int shutdown_grace_ms = Millis(RayletOptions().shutdown_grace);
  std::optional<int> dashboard_port;  // default: RayletOptions().dashboard_port
  bool no_dashboard = false;
  int metrics_port = RayletOptions().metrics_port;
  int ready_fd = -1;
  int exit_with_pid = 0;
  int64_t object_store_memory = 0;
  int64_t max_message_size = kDefaultMaxMessageBytes;
  int max_connections = 0;
  int max_connections_per_address = 0;
  std::string worker_binary = SiblingExecutable("weft-worker");
};

// Adds weft-raylet's flags to `app`, parsed into `f`.
void AddRayletFlags(CLI::App& app, RayletFlags& f);

// This machine's address toward a head at `head_address` (LocalHostToward; tests stand in).
using RouteToward = std::function<absl::StatusOr<std::string>(const std::string& head_address)>;

// The options the flags say, settled: where the raylet listens and is reached (a node's address
// toward its head found with `toward`), whether it uses TLS, its token and store. Creates the
// session dir and, for a head, takes its head lock (held until this process exits).
// INVALID_ARGUMENT for flags that do not go together; an error naming the head, and the flags
// that do without, when a node's address toward it cannot be found; the errors of reading the
// token or password files, or of the session dir.
[[nodiscard]] absl::StatusOr<RayletOptions> MakeRayletOptions(
    const RayletFlags& f, const RouteToward& toward = &LocalHostToward);

// Works out again, with `toward`, the hosts `o` takes from the route toward its head
// (host_toward_head, advertise_toward_head; what --host and --advertise-address named stays):
// a fenced node rejoining, when routes may have changed. True when a host changed; the error
// names the head and the flags that do without the route.
[[nodiscard]] absl::StatusOr<bool> FollowRouteTowardHead(
    RayletOptions& o, const RouteToward& toward = &LocalHostToward);

}  // namespace weft
