#pragma once

#include <deque>
#include <functional>
#include <string>
#include <thread>

#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "head.grpc.pb.h"

namespace weft::internal {

// Sends this process's creations of unnamed actors to the head in the background, so that
// Actor<C>().Remote() returns at once, as in Ray: the calls made on the new handle queue here
// until the head has the actor (ActorCalls). Creations queued meanwhile go together in one
// CreateActors call, up to kInFlight of them and kBatchBytes of requests (a creation larger
// than that goes alone): a loop creating actors pays the head's round trip and a call's cost
// once per batch, not once per actor. A head that is down or restarting is waited for and asked
// again, as CallHead does (the actor id, chosen here, makes a request sent twice create one actor).
// Thread-safe.
class ActorCreator {
 public:
  // The head's answer: the actor as registered, or why it was not.
  using Done = std::function<void(absl::StatusOr<proto::ActorInfo>)>;

  ActorCreator(proto::ActorDirectory::Stub& head, std::string head_address);
  // Sends what is still queued, once (a head away is not waited for), and joins.
  ~ActorCreator();

  void Create(proto::CreateActorRequest request, Done done);

  // Blocks until the head has answered for the creation of `actor_id` (at once when it is not
  // being created, or on the creator's own thread): what asks the head about the actor (Kill,
  // another process given its handle) must not overtake it.
  void WaitAnswered(const std::string& actor_id);
  // Blocks until every creation made so far is answered, or `timeout` passed: Shutdown, before
  // it finishes the job (an actor registered after that would outlive it).
  void Flush(std::chrono::milliseconds timeout);

 private:
  static constexpr size_t kInFlight = 256;
  static constexpr size_t kBatchBytes = 4 << 20;  // or half the message limit, if less
  static constexpr size_t kFramingBytes = 8;      // a repeated field's tag and length
  struct Item {
    proto::CreateActorRequest request;
    Done done;
    // Set when the head is first found away: asked again until then.
    std::chrono::steady_clock::time_point give_up{};
  };

  void Run();
  // Sends `batch` at once and waits for every answer; what found the head away (and may still
  // wait) is left in `batch`, the rest is answered.
  void SendBatch(std::vector<Item>& batch);

  proto::ActorDirectory::Stub& head_;
  const std::string head_address_;
  absl::Mutex mu_;
  std::deque<Item> queue_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_set<std::string> unanswered_ ABSL_GUARDED_BY(mu_);
  absl::CondVar answered_cv_;  // an id left unanswered_
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
  std::thread::id thread_id_;  // of thread_, set before it runs
};

}  // namespace weft::internal
