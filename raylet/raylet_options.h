#pragma once

#include <string>
#include <vector>

#include "absl/time/time.h"
#include "common/resources.h"

namespace weft {

// Everything a weft-raylet is told at start (see main.cc for the flags).
struct RayletOptions {
  bool head = false;         // host the head services
  bool local_node = true;    // run a node (worker pool) in this process
  std::string head_address;  // the head to join (ignored with `head`)
  // Interface to listen on (workers too). This machine reaches the raylet there (its own
  // workers, a head's own node, the CLI and drivers of its session), on loopback for a wildcard
  // (LocalDialHost): a machine behind NAT may not reach itself where others do.
  std::string host = "127.0.0.1";
  // The host others reach this raylet and its workers at (--advertise-address), registered with
  // the head: settled at start (raylet_flags.cc): given, or `host` itself, or for a wildcard
  // `host` the address on the route to the head (a head's: its first interface's).
  std::string advertise_host;
  // Which of the two come from the route toward the head (a node without --host, or without
  // --advertise-address on a wildcard --host): worked out again when a fenced node rejoins,
  // as routes may have changed meanwhile (FollowRouteTowardHead).
  bool host_toward_head = false;
  bool advertise_toward_head = false;
  int port = 0;                     // 0 picks a free port
  ResourceMap resources;            // CPU, memory and custom resources of the local node
  int64_t object_store_memory = 0;  // bytes of the node's object store; 0: 30% of the machine
  std::string session_dir;
  // The head's store: an SQLite file (empty: <session>/head_state.sqlite) or a redis:// URL
  // (with `storage_password` for Redis, if any). A store that holds a cluster is taken over;
  // `fresh_state` sets an existing one aside and starts a new cluster.
  std::string storage;
  std::string storage_password;
  bool fresh_state = false;
  std::string token;
  // Files the token is kept in (--token-file, the session's): a rotated token is written there,
  // so that a raylet started again with the same flags has it.
  std::vector<std::string> token_files;
  // TLS on every connection (issue 13): the head serves under the cluster's CA and signs a
  // certificate for each node and client that joins with the token. On for a head beyond
  // loopback unless `insecure`; a node uses TLS when its head does (learnt with the head's
  // proof), and must when it or its head is beyond loopback, unless `insecure`.
  bool tls = false;
  bool insecure = false;
  // Mutual TLS: every server of the cluster takes only connections that show a certificate of
  // its CA, and the head signs certificates only for its own machine (weft certificate issue).
  // Set on the head; a node follows its head.
  bool mutual_tls = false;
  // A node's own TLS files (all three or none): its certificate and key, and the cluster's CA.
  // Under mutual TLS a node needs them; otherwise it is given a certificate for the token.
  std::string tls_ca_file;
  std::string tls_cert_file;
  std::string tls_key_file;
  // Connections this raylet's server holds at once, in all and from one address (0: half its
  // open-file limit, at most 65536; 4096): more are refused at once (ConnectionGate).
  int max_connections = 0;
  int max_connections_per_peer = 0;
  absl::Duration heartbeat_period = absl::Milliseconds(500);
  absl::Duration node_timeout = absl::Seconds(5);
  // A fenced node tries to rejoin its head as a new node until this long after the head last
  // answered it; then its raylet exits.
  absl::Duration head_lost_timeout = absl::Seconds(60);
  absl::Duration shutdown_grace = absl::Seconds(5);
  // A head's web dashboard and /metrics (raylet/dashboard), on `host`: this port (0: any free
  // one); -1: none. A port in use is a warning, not a failure: the head serves without it, or,
  // with `dashboard_port_fallback` (the port was not asked for), on any free port.
  int dashboard_port = 8265;
  bool dashboard_port_fallback = true;
  // A node's Prometheus /metrics (its workers' calls per class and method), on `host`: this
  // port (0: any free one, recorded in the node's record); -1: none.
  int metrics_port = 0;
  int ready_fd = -1;  // gets "<address>\n" once serving, then is closed
  // The raylet stops when this process ends (a program's own cluster, a test's); 0: never.
  int exit_with_pid = 0;
  std::string worker_binary;
  // What submitted drivers run under (raylet/node/driver_guard.h): this raylet's own binary;
  // empty (nodes run inside a test's process): unguarded.
  std::string driver_guard;
};

}  // namespace weft
