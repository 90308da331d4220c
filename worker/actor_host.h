#pragma once

#include <functional>
#include <memory>
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
  // (type and message) when the constructor throws, ALREADY_EXISTS for a known id.
  void Create(const proto::ActorSpec& spec, Created done);

  // Stops the actor's executor (running calls finish, queued ones are dropped) and deletes
  // the instance. NOT_FOUND for an unknown actor.
  [[nodiscard]] absl::Status Destroy(const std::string& actor_id);

  // Runs `method` of the actor. NOT_FOUND (actor not hosted here, or no such method) is
  // returned at once; otherwise `finish` runs when the call is done.
  [[nodiscard]] absl::Status Call(const std::string& actor_id, const std::string& method,
                                  std::string args, ActorExecutor::Finish finish);

  // The class name of a hosted actor, empty if unknown.
  std::string ClassOf(const std::string& actor_id);

  std::vector<proto::ActorStats> Stats();

 private:
  struct Hosted {
    proto::ActorSpec spec;
    const internal::ClassInfo* cls = nullptr;
    void* instance = nullptr;  // set on the executor by the constructor
    std::unique_ptr<ActorExecutor> executor;
  };

  CodeLoader& code_;
  absl::Mutex mu_;
  absl::flat_hash_map<std::string, std::shared_ptr<Hosted>> actors_ ABSL_GUARDED_BY(mu_);
};

}  // namespace weft::worker
