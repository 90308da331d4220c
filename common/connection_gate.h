#pragma once

#include <grpcpp/server_builder.h>
#include <sys/types.h>

#include <map>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/rpc.h"

namespace weft {

struct ConnectionLimits {
  int max_connections = 0;  // 0: half the open-file limit, at most 65536
  int max_per_peer = 0;     // 0: 4096 (at most max_connections)
  // TCP_USER_TIMEOUT of the connections (unacknowledged data to a peer that is gone): what
  // gRPC's own listener set from the server's keepalive timeout.
  int tcp_user_timeout_ms =
      static_cast<int>(std::chrono::milliseconds(kServerKeepaliveTimeout).count());
};

// A server's listening sockets, accepted by Weft instead of gRPC (issue 13). gRPC 1.51 accepts
// every connection it is offered and stops accepting for good once accept4 fails for want of
// file descriptors. The gate accepts on its own thread and hands each connection to gRPC
// (through its ExternalConnectionAcceptor, under the server's credentials) while the server
// holds fewer than `max_connections` in all and fewer than `max_per_peer` from the connection's
// address; it resets the others at once, so that a flood neither
// uses up the process's files nor, while the cap in all is not reached, keeps other hosts out.
// An accept that fails for want of files waits 100 ms and tries again.
//
// gRPC closes a connection itself: the gate keeps each one's file descriptor and socket inode,
// and counts it closed once that descriptor is gone or names another file. A peer's are looked
// at when it reaches its limit, all of them when the cap in all is reached, each at most every
// 100 ms (a connection over a limit in between is reset without a look).
class ConnectionGate {
 public:
  using Limits = ConnectionLimits;
  static constexpr int kDefaultMaxConnections = 65536;
  static constexpr int kDefaultMaxPerPeer = 4096;

  // Listens on `host`:`port` (0: a free port): every address a name resolves to, or every
  // interface (IPv6 and IPv4) for a wildcard ("0.0.0.0", "::", ""); a port in use is
  // UNAVAILABLE. Registers the gate with `builder`, whose server then serves what the gate
  // hands it under `credentials`. Call Open once the server is built and started.
  static absl::StatusOr<std::unique_ptr<ConnectionGate>> Listen(
      const std::string& host, int port, grpc::ServerBuilder& builder,
      std::shared_ptr<grpc::ServerCredentials> credentials, Limits limits = {});
  // Close(). Declare a gate after the server it feeds, so that it goes first: gRPC 1.51 does
  // not close a connection handed to a server that is shut down.
  ~ConnectionGate();

  int port() const { return port_; }
  // Starts handing connections over (before, and after Close, none is accepted).
  void Open();
  // Stops accepting and closes the listening sockets: call before the server shuts down. The
  // connections already handed over stay the server's.
  void Close();

 private:
  struct Held {
    int fd;
    ino_t inode;
  };
  struct Peer {
    std::vector<Held> held;
    absl::Time last_look = absl::InfinitePast();
  };
  ConnectionGate(std::vector<int> listen_fds, int port, Limits limits, int stop_pipe[2],
                 std::unique_ptr<grpc::experimental::ExternalConnectionAcceptor> acceptor);
  void AcceptLoop();
  // Accepts one connection waiting on `listen_fd`; false when the loop should wait a little.
  bool AcceptOne(int listen_fd);
  // Whether a connection from `peer` may be handed over now.
  bool Admit(const std::string& peer) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Forgets the connections of `held` that are closed.
  void Forget(std::vector<Held>& held) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void ForgetAll() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Warn(const std::string& what) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const std::vector<int> listen_fds_;
  const int port_;
  const Limits limits_;
  const pid_t owner_pid_;  // a forked child neither stops nor joins the parent's thread
  int stop_pipe_[2];
  bool closed_ = false;
  std::unique_ptr<grpc::experimental::ExternalConnectionAcceptor> acceptor_;
  std::thread thread_;
  absl::Mutex mu_;
  std::map<std::string, Peer> peers_ ABSL_GUARDED_BY(mu_);  // by address
  int total_ ABSL_GUARDED_BY(mu_) = 0;
  absl::Time last_full_look_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  absl::Time last_warning_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
};

}  // namespace weft
