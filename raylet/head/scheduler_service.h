#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/synchronization/mutex.h"
#include "common/auth.h"
#include "common/resources.h"
#include "head.grpc.pb.h"
#include "node.grpc.pb.h"
#include "raylet/head/lease_queue.h"
#include "raylet/head/node_directory.h"

namespace weft::head {

// How SchedulerService::Lease may place and wait.
struct LeaseOptions {
  std::string node_id;  // only this node; empty: any node with room
  // When a still queued request is answered with `queued` set; never by default.
  absl::Time deadline = absl::InfiniteFuture();
  // Runs (outside any lock) with the reason when the request has to wait in the queue.
  std::function<void(const std::string& reason)> on_queued;
  // Runs under the scheduler's lock, before `done` can, with the request's queue id each time
  // it enters the queue (again after a node refused to start its worker): for CancelQueued.
  std::function<void(uint64_t id)> on_enqueued;
  // The worker process that leases (empty: a driver): the lease ends when it exits.
  std::string owner_worker_id;
  // Set: the node starts this submitted job's driver instead of a worker. It is not leased to
  // anyone (its job's end does not stop it: its exit ends the job).
  std::shared_ptr<const proto::JobSubmission> driver;
};

// Leases workers: reserves resources on a node (NodeDirectory::Reserve) and has that node's
// raylet spawn the worker. A request that is feasible but does not fit now waits in a
// LeaseQueue (FIFO per resource shape, see lease_queue.h) and is granted when room appears:
// GrantQueued() runs on every heartbeat, node registration and Tick(). An infeasible request
// (no alive node has that much in total) fails at once with UNAVAILABLE.
//
// LeaseWorker is a long poll: a request still queued after kLongPoll is answered with
// `queued` set and the reason, and the caller asks again. Replies are sent from the node's
// answer; no gRPC thread waits. A worker whose lease never reached its caller is killed
// again; ReturnWorker stops a leased worker its caller no longer needs. Thread-safe.
class SchedulerService final : public proto::Scheduler::CallbackService {
 public:
  SchedulerService(NodeDirectory& nodes, const TokenAuth& auth, std::string token)
      : nodes_(nodes), auth_(auth), token_(std::move(token)) {}

  grpc::ServerUnaryReactor* LeaseWorker(grpc::CallbackServerContext*,
                                        const proto::LeaseWorkerRequest*,
                                        proto::LeaseWorkerReply*) override;
  grpc::ServerUnaryReactor* ReturnWorker(grpc::CallbackServerContext*,
                                         const proto::ReturnWorkerRequest*,
                                         proto::ReturnWorkerReply*) override;

  using LeaseDone = std::function<void(absl::StatusOr<proto::LeaseWorkerReply>)>;
  using LeaseOptions = head::LeaseOptions;
  // Reserves `required` on a node, now or once it frees up, and has it start a worker for
  // `job_id`. `done` runs once, on a gRPC thread or at once: with the worker, with `queued`
  // set after the deadline, or with an error. The worker belongs to the caller. Returns the
  // id of the queued request (for CancelQueued), 0 when it did not queue.
  uint64_t Lease(const std::string& job_id, const ProtoResources& required, LeaseDone done,
                 LeaseOptions options = {});

  // A queued request's caller went away: it leaves the queue, `done` gets CANCELLED.
  void CancelQueued(uint64_t id);

  // Offers free resources to queued requests; call when resources may have freed up.
  void GrantQueued();
  // Call periodically: answers long polls that reached their deadline, then GrantQueued().
  void Tick();
  // Fills the queue fields of a ListNodes reply.
  void DescribeQueue(proto::ListNodesReply& reply);

  // Kills every worker leased for `job_id` (its driver is done), except those in `keep`.
  void ReleaseJob(const std::string& job_id, const absl::flat_hash_set<std::string>& keep);

  // After a head restart: `worker_id` on the node at `node_address` was leased for `job_id`
  // (by `owner_worker_id`, empty: the driver or the head): it is stopped with its job, as if
  // this head had leased it.
  void Adopt(const std::string& job_id, const std::string& node_address,
             const std::string& worker_id, const std::string& owner_worker_id = "");
  // After a head restart: adopts every live worker of `node` (listed by its raylet), then
  // runs `done` with the jobs they belong to, or with the error when the node could not list
  // them (not at all when the head is stopping).
  using AdoptDone = std::function<void(absl::StatusOr<absl::flat_hash_set<std::string>> jobs)>;
  void AdoptWorkersOf(const proto::NodeInfo& node, AdoptDone done);

  // A worker ended: it is no longer leased to anyone.
  void OnWorkerExit(const proto::WorkerInfo& worker);

  // Kills a leased worker that is no longer wanted (SIGKILL through its node).
  void KillWorker(const std::string& node_address, const std::string& worker_id);
  // SIGTERM to a worker (or a submitted driver) through its node.
  void TerminateWorker(const std::string& node_address, const std::string& worker_id);
  // Ends a lease: the node frees the worker's resources; the worker exits unless it owns
  // objects others reference (it then ends with its job).
  void RetireWorker(const std::string& node_address, const std::string& worker_id);

  // Cancels the calls still waiting on `node_id` (it died): their leases fail at once.
  void CancelNode(const std::string& node_id);

  // Cancels every node call still in flight and fails every queued request, so their leases
  // finish and the server can shut down. Later leases are refused.
  void CancelAll();

 private:
  class LeaseReactor;
  struct Waiting {
    std::string job_id;
    ProtoResources required;
    std::string node_id;
    LeaseDone done;
    absl::Time deadline;                                    // of the caller's long poll
    std::function<void(uint64_t)> on_enqueued;              // see LeaseOptions
    std::string owner_worker_id;                            // see LeaseOptions
    std::shared_ptr<const proto::JobSubmission> driver;     // see LeaseOptions
    std::optional<NodeDirectory::Reservation> reservation;  // set when granted
    absl::Status failed;                                    // set when infeasible
  };
  void Spawn(Waiting waiting);
  uint64_t EnqueueLocked(Waiting waiting) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  std::string QueuedReasonLocked(const ResourceMap& required) ABSL_SHARED_LOCKS_REQUIRED(mu_);
  proto::NodeManager::Stub& NodeStub(const std::string& address);
  // Sends `request` (a kill or a retirement) for `worker_id` to its node; failures are logged.
  void StopWorker(const std::string& node_address, const std::string& worker_id,
                  proto::KillWorkerRequest request);
  bool Track(grpc::ClientContext* call, const std::string& node_id);
  void Untrack(grpc::ClientContext* call);

  NodeDirectory& nodes_;
  const TokenAuth& auth_;
  const std::string token_;
  absl::Mutex mu_;
  absl::flat_hash_map<std::string, std::unique_ptr<proto::NodeManager::Stub>> stubs_
      ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<grpc::ClientContext*, std::string> in_flight_ ABSL_GUARDED_BY(mu_);
  bool cancelled_ ABSL_GUARDED_BY(mu_) = false;
  LeaseQueue queue_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<uint64_t, Waiting> waiting_ ABSL_GUARDED_BY(mu_);  // by queue id
  struct Leased {
    std::string node_address;
    std::string worker_id;
    bool returned = false;        // retired: holds nothing, may live on until the job ends
    std::string owner_worker_id;  // the worker process that leased it; empty: the driver
  };
  absl::flat_hash_map<std::string, std::vector<Leased>> leased_ ABSL_GUARDED_BY(mu_);  // by job
};

}  // namespace weft::head
