#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "head.pb.h"
#include "raylet/head/actor_directory.h"

namespace weft::head {

// The actor watches (long polls, WatchActors): each waits, parked, until its actor's state is no
// longer the one its caller knows (or any change, when told so), or until its deadline; then it is
// answered with the actor's current info. Thread-safe.
class ActorWaits {
 public:
  using Waiter = std::function<void(absl::StatusOr<proto::ActorInfo>)>;

  explicit ActorWaits(const ActorDirectory& actors) : actors_(actors) {}

  // Runs `done` now when the actor's state is not `known` (or `wait` is zero), else parks it.
  // Returns the parked wait's ticket (for Cancel); 0 when `done` ran now.
  uint64_t Wait(const std::string& actor_id, proto::ActorState known,
                std::chrono::milliseconds wait, Waiter done);
  // The caller of parked wait `ticket` went away: takes the wait out, unanswered (its `done`
  // never runs). True when it did; false when the wait is not parked (answered, or being
  // answered), and then its `done` runs or ran.
  bool Cancel(const std::string& actor_id, uint64_t ticket);
  // The actor changed: answers its waiters whose known state is out of date (all of them on
  // `any_change`, e.g. a new pending reason).
  void Notify(const std::string& actor_id, bool any_change = false);
  // Answers the waits whose deadline has passed; call periodically.
  void ExpireDue();
  // Answers every parked wait now (the head is stopping: a wait left parked would hold the
  // server's shutdown until it expired).
  void AnswerAll();
  // How many waits are parked.
  size_t parked() const;

 private:
  struct Parked {
    proto::ActorState known;
    std::chrono::steady_clock::time_point deadline;
    Waiter done;
  };
  // Takes out the parked waits that `answer` selects, by actor id.
  using Selected = std::vector<std::pair<std::string, Parked>>;
  Selected TakeLocked(const std::function<bool(const std::string&, const Parked&)>& answer)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Answer(Selected selected);

  const ActorDirectory& actors_;
  mutable absl::Mutex mu_;
  // By actor id, then by ticket (oldest first).
  absl::flat_hash_map<std::string, std::map<uint64_t, Parked>> parked_ ABSL_GUARDED_BY(mu_);
  uint64_t last_ticket_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace weft::head
