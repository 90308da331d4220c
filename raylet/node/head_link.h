#pragma once

#include <functional>
#include <memory>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "head.grpc.pb.h"

namespace weft::node {

// A node's connection to the head's node directory: registration, heartbeats, worker exit
// reports and the goodbye. Thread-safe.
class HeadLink {
 public:
  HeadLink(const std::string& head_address, const std::string& token);
  // Over `channel`, which must carry the cluster token (MakeChannel).
  explicit HeadLink(std::shared_ptr<grpc::Channel> channel);

  // The head's liveness rule, as it answers a registration.
  struct Terms {
    absl::Duration heartbeat_period;   // how often the head expects a heartbeat
    absl::Duration node_timeout;       // silence after which it declares the node DEAD
    std::string cluster_id;            // heartbeats carry it back
    absl::Duration head_lost_timeout;  // how long workers may wait for a head that is down
  };

  // Registers the node, retrying while the head is unreachable for up to `wait`.
  [[nodiscard]] absl::StatusOr<Terms> Register(const proto::NodeInfo& node, absl::Duration wait);

  // Sends one heartbeat without blocking; `done` runs on a gRPC thread with the outcome.
  void Heartbeat(const proto::HeartbeatRequest& request, absl::Duration timeout,
                 std::function<void(absl::Status)> done);

  // Reports a worker exit without blocking. A report the head did not get (it is down or
  // restarting) is kept for ResendWorkerExits.
  void ReportWorkerExit(const proto::WorkerInfo& worker);
  // Sends the kept reports again; call once the head answers again.
  void ResendWorkerExits();

  // Tells the head this node is leaving (blocks up to a short deadline).
  [[nodiscard]] absl::Status Unregister(const std::string& node_id, const std::string& reason);

 private:
  std::unique_ptr<proto::NodeDirectory::Stub> stub_;
  // Reports kept for ResendWorkerExits; shared with the calls in flight, which may end after
  // the link is gone.
  struct Unreported {
    absl::Mutex mu;
    absl::flat_hash_map<std::string, proto::WorkerInfo> workers ABSL_GUARDED_BY(mu);
  };
  const std::shared_ptr<Unreported> unreported_ = std::make_shared<Unreported>();
};

}  // namespace weft::node
