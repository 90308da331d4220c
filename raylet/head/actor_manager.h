#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "common/in_flight.h"
#include "common/timers.h"
#include "common/watch_streams.h"
#include "head.pb.h"
#include "raylet/head/actor_directory.h"
#include "raylet/head/actor_waits.h"
#include "raylet/head/placement.h"
#include "raylet/head/scheduler_service.h"
#include "raylet/head/worker_stubs.h"
#include "worker.grpc.pb.h"

namespace weft::head {

// The life of actors: places each on a worker, has the worker construct it, keeps actors that
// cannot be placed PENDING with the reason (retrying them, or waiting for the scheduler's
// queue to grant their resources), kills them, and marks them DEAD when their worker, node or
// job ends. Answers the actor watches (long polls). Thread-safe.
//
// An actor that asks for resources or a dedicated process gets a worker of its own. Default
// actors share one worker per job per node, and each goes to the alive node whose shared
// worker hosts the fewest of its job's actors (SharedSpread), so a job's actors spread over
// the cluster while an idle actor still costs no process and no thread.
class ActorManager {
 public:
  using Waiter = ActorWaits::Waiter;

  // Whether a job has finished (or failed): its actors that are not detached ended with it.
  using JobEnded = std::function<bool(const std::string& job_id)>;

  ActorManager(ActorDirectory& actors, const NodeDirectory& nodes, SchedulerService& scheduler,
               WorkerStubs& workers, JobEnded job_ended)
      : actors_(actors),
        nodes_(nodes),
        scheduler_(scheduler),
        workers_(workers),
        job_ended_(std::move(job_ended)),
        waits_(actors),
        constructions_(
            [this](const std::string& address, grpc::ClientContext* context, auto* reactor) {
              workers_.Get(address).async()->ConstructActors(context, reactor);
            },
            construction_calls_, construction_timers_, /*wait_for_ready=*/false) {}
  // Cancels the constructions still waiting for their workers (their actors stay as stored:
  // the next head asks again).
  ~ActorManager();

  // Registers the actor PENDING and starts placing it. With get_if_exists, a live actor of
  // that name is returned instead of ALREADY_EXISTS. An actor that is not detached, of a job
  // that has ended, is refused (FAILED_PRECONDITION): nothing would end it.
  [[nodiscard]] absl::StatusOr<proto::ActorInfo> Create(const proto::CreateActorRequest& request);

  // After a head restart: takes over the actors not DEAD (ActorDirectory::Recover). ALIVE
  // ones stay where they are (their nodes must be recovered first); ones whose node is DEAD
  // restart or die; PENDING and RESTARTING ones are placed again.
  void Recover(const std::vector<proto::StoredActor>& live);

  // Runs `done` when the actor's state is not `known` or its pending reason changes, or after
  // `wait`, with the current info. Returns the wait's ticket for CancelWait; 0 when `done` ran
  // at once.
  uint64_t Wait(const std::string& actor_id, proto::ActorState known,
                std::chrono::milliseconds wait, Waiter done) {
    return waits_.Wait(actor_id, known, wait, std::move(done));
  }
  // The waiter went away: see ActorWaits::Cancel.
  bool CancelWait(const std::string& actor_id, uint64_t ticket) {
    return waits_.Cancel(actor_id, ticket);
  }

  // Ends the actor (its worker destroys it, or is stopped if dedicated). With `restart`, it is
  // re-created instead while it has restarts left (max_restarts).
  [[nodiscard]] absl::StatusOr<proto::ActorInfo> Kill(const std::string& actor_id,
                                                      const std::string& reason,
                                                      bool restart = false);

  // The node died: its actors restart elsewhere while they have restarts left, else die.
  void OnNodeDead(const std::string& node_id);

  // A worker process ended: its actors die; a job's shared worker is forgotten.
  void OnWorkerExit(const proto::WorkerInfo& worker);
  // The job's non-detached actors die with `reason` and its workers are stopped.
  void OnJobFinished(const std::string& job_id, const std::string& reason = "its job finished");
  // Call periodically: retries PENDING actors, answers expired waits.
  void Tick();
  // Answers every parked wait now (the head is stopping: a wait left parked would hold the
  // server's shutdown until it expired).
  void AnswerWaits() { waits_.AnswerAll(); }
  // How many actor watches are parked.
  size_t parked_waits() const { return waits_.parked(); }

 private:
  // Where an actor is placed. The worker's names are shared by the placements of the actors
  // of one worker (a shared worker may host thousands): an actor's own is 32 bytes.
  struct Worker {
    std::string worker_id;
    std::string address;  // the worker's
    std::string node_id;
    std::string node_address;
  };
  struct Placement {
    Placement() = default;
    Placement(std::string worker_id, std::string address, std::string node_id,
              std::string node_address, bool dedicated, uint64_t attempt = 0)
        : worker(
              std::make_shared<const Worker>(Worker{std::move(worker_id), std::move(address),
                                                    std::move(node_id), std::move(node_address)})),
          dedicated(dedicated),
          attempt(attempt) {}
    const std::string& worker_id() const { return worker ? worker->worker_id : kNone; }
    const std::string& address() const { return worker ? worker->address : kNone; }
    const std::string& node_id() const { return worker ? worker->node_id : kNone; }
    const std::string& node_address() const { return worker ? worker->node_address : kNone; }

    std::shared_ptr<const Worker> worker;  // null: not placed
    bool dedicated = false;
    uint64_t attempt = 0;  // which Place made it: an answer to an older one is stale
    static inline const std::string kNone;
  };
  using SharedKey = std::pair<std::string, std::string>;  // job id, node id
  struct SharedWorker {
    bool leasing = false;
    Placement placement;
    std::vector<std::string> waiting;  // actor ids placed once the lease is in
    int hosted = 0;                    // actors assigned to it and not dead
    // Its key, one copy for all the actors it hosts (`key`, the first time).
    const std::shared_ptr<const SharedKey>& Key(const SharedKey& key) {
      if (!shared_key) shared_key = std::make_shared<const SharedKey>(key);
      return shared_key;
    }
    std::shared_ptr<const SharedKey> shared_key;
  };

  // Placing (actor_manager_placement.cc). An actor with resources, or asked to be dedicated,
  // gets a worker process of its own; the others share their job's worker on a node.
  static bool OwnsProcess(const proto::ActorSpec& spec);
  void Schedule(const std::string& actor_id);
  void OnLeased(const std::string& actor_id, absl::StatusOr<proto::LeaseWorkerReply> leased);
  void ScheduleShared(const std::string& actor_id, const std::string& job_id);
  void OnSharedLeased(const SharedKey& key, absl::StatusOr<proto::LeaseWorkerReply> leased);
  // The actor no longer counts towards its shared worker's load.
  void UnassignLocked(const std::string& actor_id) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void SetPendingReason(const std::string& actor_id, const std::string& reason);
  // Stores the actor's placement, then has its worker construct it.
  void Place(const std::string& actor_id, Placement placement);
  // Has the worker construct the actor (again: a worker constructs an actor once) and marks it
  // ALIVE with the answer.
  void Construct(const std::string& actor_id, const Placement& placement);
  // The worker's answer to the construction of `placement`.
  void OnConstructed(const std::string& actor_id, const Placement& placement,
                     absl::StatusOr<proto::ConstructActorReply> answer);
  void MarkPending(const std::string& actor_id, const std::string& reason);
  void MarkDead(const std::string& actor_id, const std::string& reason);
  // Takes the actor's lease request out of the scheduler's queue, if one waits there.
  void WithdrawLease(const std::string& actor_id);
  // The actor's copy is gone (worker, node, or a restarting kill): RESTARTING and placed again
  // (constructor re-run with its original arguments) while restarts are left, else DEAD.
  void OnActorLost(const std::string& actor_id, const std::string& reason);
  // OnActorLost without placing it: true when the actor is now RESTARTING (the caller places
  // it with Schedule), false when it died for want of restarts.
  bool BeginRestart(const std::string& actor_id, const std::string& reason);
  void StopWorker(const Placement& placement);
  // The spec of a live actor (its entry in specs_).
  static proto::ActorSpec SpecOf(const std::string& bytes);
  static std::string SpecBytes(const proto::ActorSpec& spec);

  ActorDirectory& actors_;
  const NodeDirectory& nodes_;
  SchedulerService& scheduler_;
  WorkerStubs& workers_;
  const JobEnded job_ended_;
  absl::Mutex create_mu_;  // held by Create, before mu_
  absl::Mutex mu_;
  // The live actors' specs, serialized (a message with its strings would take several times
  // the bytes); read by SpecOf.
  absl::flat_hash_map<std::string, std::string> specs_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, Placement> placements_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<SharedKey, SharedWorker> shared_ ABSL_GUARDED_BY(mu_);
  // By actor: the shared worker it counts towards (the key its worker's actors share).
  absl::flat_hash_map<std::string, std::shared_ptr<const SharedKey>> shared_of_
      ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, SharedSpread> spread_ ABSL_GUARDED_BY(mu_);  // by job
  std::vector<std::string> unplaced_ ABSL_GUARDED_BY(mu_);                      // PENDING, to retry
  // Constructions whose worker could not be reached, asked again at the next Tick.
  std::vector<std::pair<std::string, Placement>> reconstruct_ ABSL_GUARDED_BY(mu_);
  uint64_t attempts_ ABSL_GUARDED_BY(mu_) = 0;  // Placement::attempt
  // The queue id of each actor's lease request, kept current by the scheduler (on_enqueued)
  // while it waits; withdrawing one that was granted meanwhile is a no-op.
  absl::flat_hash_map<std::string, std::shared_ptr<std::atomic<uint64_t>>> queued_
      ABSL_GUARDED_BY(mu_);
  ActorWaits waits_;  // actor watches (long polls)
  // Constructions are watches on one stream per worker (Worker.ConstructActors), without a
  // deadline: the streams' calls, and the timers that close a stream left idle.
  InFlight construction_calls_;
  Timers construction_timers_;
  WatchStreams<proto::ActorConstructions, proto::ActorConstructionAnswers> constructions_;
  std::atomic<bool> stopping_{false};  // answers that come now are the head's own cancels
};

}  // namespace weft::head
