#pragma once

// Nodes that a real head cannot tell from raylets, without their processes: each listens on a
// port of its own (its NodeManager service, and the Worker service of the one worker it hosts
// for the job, at the same address), registers with the head, heartbeats at the head's period,
// and answers at once what the head asks of a node (SpawnWorker, KillWorker, ListWorkers) and
// of a worker (ConstructActors, DestroyActor, FreeObjects). They share one gRPC server (a
// listening socket each) in this process: what the head does for them is what it would do for
// real ones, whose server settings (ConfigureServer) they share too.

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "common/auth.h"
#include "head.grpc.pb.h"
#include "node.grpc.pb.h"
#include "worker.grpc.pb.h"

namespace weft::bench {

class SimulatedNodes {
 public:
  using Clock = std::chrono::steady_clock;

  SimulatedNodes(std::string head_address, std::string token, int count);
  ~SimulatedNodes();  // Stop
  SimulatedNodes(const SimulatedNodes&) = delete;
  SimulatedNodes& operator=(const SimulatedNodes&) = delete;

  // Listens, registers every node with the head and starts their heartbeats.
  absl::Status Start();
  // Stops heartbeating and serving (the head then declares the nodes dead).
  void Stop();

  // Actors the nodes' workers were asked to construct, and when each was first asked for.
  int64_t constructed() const;
  absl::flat_hash_map<std::string, Clock::time_point> ConstructedAt() const;
  // Heartbeats the head refused or did not answer.
  int64_t failed_heartbeats() const { return failed_heartbeats_.load(); }

 private:
  class NodeService;
  class WorkerService;
  struct Node {
    std::string node_id;
    std::string address;
    std::string worker_id;  // its job's worker, once spawned
    uint64_t resource_version = 0;
  };

  // The node a call was made to, by the address the head called (its authority).
  Node* NodeOf(const grpc::CallbackServerContext& context);
  void Construct(const std::string& actor_id);
  void Heartbeats();

  const std::string head_address_;
  const std::string token_;
  const TokenAuth auth_;
  const int count_;
  // Filled by Start once the server listens (its ports are known only then), before any node
  // registers; read by the server's handlers only after `ready_`.
  std::vector<Node> nodes_;
  absl::flat_hash_map<std::string, Node*> by_address_;
  std::atomic<bool> ready_{false};
  std::unique_ptr<NodeService> node_service_;
  std::unique_ptr<WorkerService> worker_service_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<proto::NodeDirectory::Stub> head_;
  std::string cluster_id_;
  std::chrono::milliseconds period_{500};
  std::thread heartbeats_;
  std::atomic<bool> stopping_{false};
  std::atomic<int64_t> failed_heartbeats_{0};
  mutable absl::Mutex mu_;
  absl::flat_hash_map<std::string, Clock::time_point> constructed_at_ ABSL_GUARDED_BY(mu_);
  absl::Mutex nodes_mu_;  // a node's worker_id and resource_version
};

}  // namespace weft::bench
