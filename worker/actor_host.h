#pragma once

#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "worker.pb.h"
#include "worker/actor_executor.h"
#include "worker/code_loader.h"

namespace weft::worker {

// The actors this worker process hosts, each with its own executor. Thread-safe.
class ActorHost {
 public:
  using Created = std::function<void(absl::StatusOr<proto::ConstructActorReply>)>;

  explicit ActorHost(CodeLoader& code) : code_(code) {}
  ~ActorHost();

  // Loads the spec's code, starts the executor and runs the constructor on it; `done` runs
  // when the actor is ready: NOT_FOUND for a class no loaded library registers, UNKNOWN
  // (type and message) when the constructor throws, UNAVAILABLE when it is destroyed first.
  // Asked again for the incarnation it hosts (a head that restarted while the constructor
  // ran sends the request again), it does not construct it twice: `done` gets the first
  // construction's answer, when there is one. A later incarnation (a restart whose destroy
  // did not arrive) replaces the copy hosted.
  void Create(const proto::ActorSpec& spec, uint32_t incarnation, Created done);

  // Stops the actor (as ray.kill does): every call not finished yet, queued or running, fails
  // at once through its `fail` with UNAVAILABLE "actor <id> (<Class>) is dead: <reason>"; a
  // running call's eventual result is dropped. The instance is deleted once running calls
  // return. NOT_FOUND for an unknown actor.
  [[nodiscard]] absl::Status Destroy(const std::string& actor_id, const std::string& reason);

  using Fail = std::function<void(const absl::Status&)>;
  // Runs `method` of the actor in concurrency group `group` (empty: the method's own), as
  // `token`'s call (see ActorExecutor::Run).
  // NOT_FOUND (actor not hosted here, or no such method), INVALID_ARGUMENT (no such group) and
  // UNAVAILABLE (destroyed) are returned at once; otherwise exactly one of `finish` (the call
  // returned or threw) and `fail` (the actor was destroyed first) runs.
  [[nodiscard]] absl::Status Call(const std::string& actor_id, const std::string& method,
                                  const std::string& group, std::string args,
                                  ActorExecutor::Token token, ActorExecutor::Finish finish,
                                  Fail fail);

  // The class name of a hosted actor, empty if unknown.
  std::string ClassOf(const std::string& actor_id);

  std::vector<proto::ActorStats> Stats();

 private:
  struct Hosted {
    proto::ActorSpec spec;
    const internal::ClassInfo* cls = nullptr;
    uint32_t incarnation = 0;
    void* instance = nullptr;  // set on the executor by the constructor
    // Guarded by ActorHost::mu_: the constructor's answer once it returned, and the requests
    // waiting for it meanwhile.
    std::optional<proto::ConstructActorReply> constructed;
    std::vector<Created> awaiting;
    std::unique_ptr<ActorExecutor> executor;
    absl::Mutex calls_mu;
    uint64_t next_call ABSL_GUARDED_BY(calls_mu) = 0;
    bool destroyed ABSL_GUARDED_BY(calls_mu) = false;
    // The `fail` of every call not finished yet, by a number of this actor's own.
    absl::flat_hash_map<uint64_t, Fail> unfinished ABSL_GUARDED_BY(calls_mu);
  };
  // An actor destroyed here: later calls fail with its reason, errors still name its class.
  struct Tombstone {
    std::string class_name;
    std::string reason;
  };
  static constexpr size_t kTombstones = 10000;

  CodeLoader& code_;
  absl::Mutex mu_;
  absl::flat_hash_map<std::string, std::shared_ptr<Hosted>> actors_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, Tombstone> destroyed_ ABSL_GUARDED_BY(mu_);
  std::deque<std::string> destroyed_order_ ABSL_GUARDED_BY(mu_);
};

}  // namespace weft::worker
