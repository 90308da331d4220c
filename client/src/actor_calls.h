#pragma once

#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "head.pb.h"
#include "weft/actor.h"
#include "weft/call_args.h"
#include "weft/cancel.h"
#include "worker.pb.h"

namespace weft::internal {

class Runtime;

// The actors this process calls. Per actor: where it lives (followed through the head's
// actor watches until ALIVE or DEAD) and, per caller (an actor handle and its copies) and
// concurrency group, a queue of calls, each sent once its reference arguments are resolved. To
// an actor that runs one call at a time they go in submission order: a caller whose next call
// waits for an argument holds up its own later calls of that group, not other callers' nor
// other groups' (order is per caller, as in Ray, and groups run apart). An actor that
// runs calls concurrently (async, or max_concurrency > 1) keeps no order, as in Ray: each call
// goes as soon as its arguments exist. A queued call's Get timeout note says what it waits
// for.
//
// A queue has at most a window of calls sent and unanswered (kCallWindow, or the actor's
// concurrency where that is larger): the others wait here, where a cancel drops them at once and
// a restart finds them unsent. A caller that pipelines a million calls, or whose actor is stuck,
// so makes the actor's worker hold its window rather than every call (a queued call costs a
// worker about 2 KiB besides its arguments), and a barrier of calls that all run at once always
// fits. Thread-safe.
class ActorCalls {
 public:
  explicit ActorCalls(Runtime& runtime) : runtime_(runtime) {}

  // Starts following an actor (created or looked up by this process).
  void Track(const proto::ActorInfo& actor, int max_pending_calls);
  // An actor this process creates without waiting (ActorCreator): its calls queue until the
  // head's answer is tracked (Track) or fails it (MarkDead).
  void Creating(const std::string& actor_id, const std::string& class_name, int max_pending_calls,
                int max_task_retries);
  // This process knows the actor is dead (killed, or its creation failed).
  bool IsDead(const std::string& actor_id);

  // Queues a call and returns the id of its result object. Throws weft::Error
  // RESOURCE_EXHAUSTED when the actor's max_pending_calls are unfinished.
  // `stream`: the method is a generator, whose items stream back (StreamTable); such a call is
  // never sent again.
  std::string Submit(const std::string& actor_id, const std::string& class_name, uint64_t caller,
                     const std::string& method, const CallOptions& options,
                     std::vector<CallArg> args, bool stream = false);

  // Cancels the call whose result is `object_id` (weft::Cancel): a call not sent yet fails at
  // once and never goes; a sent one is cancelled at its worker. Nullopt when no unfinished call
  // makes that object. Throws weft::Error INVALID_ARGUMENT for `force`.
  std::optional<CancelOutcome> Cancel(const std::string& object_id, const CancelOptions& options);

  // The actor is known dead (this process killed it): queued, sent and later calls fail.
  void MarkDead(const std::string& actor_id, const std::string& reason);
  // What the head said of the actor (e.g. RESTARTING after a restarting Kill).
  void Update(const proto::ActorInfo& info);

 private:
  // The Rebuild of an actor method's stored result: there is none.
  static bool CannotRebuildActorResult(const std::string& lost_address, std::string* why_not);
  // What a queued call's note (in its Get timeout error) says it waits for.
  enum class Note : uint8_t { kNone, kActor, kArgument, kEarlierCall, kWindow };
  struct Pending {
    proto::Call call;
    std::vector<CallArg> args;
    std::string object_id;
    uint64_t seq = 0;    // submission order among the actor's calls
    uint64_t queue = 0;  // its caller's queue for its concurrency group (Actor::queues)
    int tries_left = 0;  // sends left after this one if the actor's copy is lost; -1: no limit
    Note note = Note::kNone;
  };
  // A call sent and not answered yet; `retry` keeps what it takes to send it again (with
  // max_task_retries), without its built arguments. `pins` hold its reference arguments until
  // it is answered: the callee may still fetch them.
  struct Sent {
    std::string object_id;
    std::string method;
    std::optional<Pending> retry;
    std::vector<std::shared_ptr<const std::string>> pins;
    bool cancelled = false;  // its worker was asked to cancel it: never sent again
    uint64_t queue = 0;      // the queue it came from (Actor::in_flight)
  };
  struct Actor {
    std::string id;
    std::string class_name;
    proto::ActorState state = proto::ACTOR_STATE_UNSPECIFIED;
    std::string address;
    // The address whose stream broke while calls were held: if the head still says the actor
    // lives there, it has not heard yet; the caller waits for its verdict (a follow).
    std::string lost_address;
    std::string why;  // pending reason or death reason
    // By caller and concurrency group (the caller itself for the default group).
    absl::flat_hash_map<uint64_t, std::deque<Pending>> queues;
    const ClassInfo* cls = nullptr;  // set when the class declares concurrency groups
    int unfinished = 0;
    // Calls sent and not answered yet, by seq: failed at once when the actor is known dead, as
    // ray.kill fails them; a result that arrives later is dropped.
    absl::flat_hash_map<uint64_t, Sent> sent;
    // Calls whose copy of the actor was lost, to send again once it is ALIVE (in seq order).
    std::vector<Pending> resend;
    // Per queue, its calls in `sent` (absent: none), at most `window` each.
    absl::flat_hash_map<uint64_t, int> in_flight;
    int window = kCallWindow;
    uint64_t next_seq = 0;
    // Runs calls concurrently (async, or max_concurrency > 1; known once ALIVE): each call is
    // sent once its arguments exist, whatever the calls before it wait for.
    bool out_of_order = false;
    // Just ALIVE, not pumped whole since: the queued calls' notes still speak of its placement,
    // and calls of any caller may be ready.
    bool renote = false;
    int max_pending_calls = -1;
    int max_task_retries = 0;
    bool asking = false;     // a watch that answers at once (state unknown or settling)
    bool following = false;  // a watch (long poll) of an ALIVE actor with calls in flight
    // Failed calls held until the head says whether the actor died (object id, error).
    std::vector<std::pair<std::string, proto::RemoteError>> held;
    // Since when asking the head about the actor fails (zero: it answers).
    absl::Time watch_failing_since;
    int watch_errors = 0;  // refusals in a row of a head that answers
  };

  Actor& ActorLocked(const std::string& actor_id, const std::string& class_name)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The concurrency group a call runs in: the one its options name, or its method's.
  static const std::string& GroupOf(const Actor& actor, const std::string& method,
                                    const CallOptions& options);
  // Sends what can go of `caller`'s queued calls. `seq`: the call that was just made or whose
  // argument just resolved, the only one an actor that keeps no order needs to look at.
  void Pump(const std::string& actor_id, uint64_t caller, uint64_t seq);
  void RunDeferred() ABSL_LOCKS_EXCLUDED(mu_);
  void PumpOneLocked(Actor& actor, uint64_t caller, uint64_t seq)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void PumpLocked(Actor& actor) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void PumpCallerLocked(Actor& actor, uint64_t caller, std::optional<uint64_t> only = {})
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Sends a call whose arguments are resolved (or fails it when one of them failed).
  void SendLocked(Actor& actor, Pending pending) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Calls of one queue sent and unanswered, at most (see the class comment): 100,000 held made a
  // worker 220 MB resident. Far more than keeps a worker busy (a LAN's round trip carries a few
  // thousand calls).
  static constexpr int kCallWindow = 10000;
  // Whether `queue` may send another call now.
  bool RoomLocked(const Actor& actor, uint64_t queue) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // A call of `queue` left `sent` (answered, lost or failed). True when the queue's window was
  // full: calls may wait for the room.
  bool LeftLocked(Actor& actor, uint64_t queue) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Puts the calls of `resend` back in their queues once the actor is ALIVE at an address that
  // has not just failed them (its next copy).
  void MergeResendLocked(Actor& actor) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Notes that `pending` waits for room in its queue's window (its Get timeout says so).
  void NoteWindowLocked(const Actor& actor, Pending& pending) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // How long one watch may wait at the head before it answers "no change".
  static constexpr int kWaitActorMs = 10000;
  // `wait_ms`: how long a follow waits for the head to see a change.
  void WatchLocked(Actor& actor, int wait_ms = kWaitActorMs) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void OnActorInfo(const std::string& actor_id, bool follow, const absl::Status& status,
                   const proto::ActorInfo& info);
  void OnResult(Actor& actor, uint64_t seq, proto::CallResult& result);
  // Notes what the queued call `pending` of an ALIVE actor waits for: an argument, room in its
  // queue's window, or (`first` false, for an actor that keeps order) an earlier call of its
  // caller.
  void NoteWaitLocked(const Actor& actor, Pending& pending, bool first)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void FailLocked(Actor& actor, Pending& pending) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Fails a call that was cancelled before it reached its worker.
  void FailCancelledLocked(Actor& actor, const std::string& object_id, const std::string& method,
                           const std::string& why) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Takes call `object_id` out of the actor's queues (not sent yet); false if it is not there.
  bool DropQueuedLocked(Actor& actor, const std::string& object_id)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void FailCallLocked(Actor& actor, const std::string& object_id, const std::string& method)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void FailSentLocked(Actor& actor) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The copy of the actor that had call `seq` is gone: send it again later if it has tries
  // left, else hold `error` until the head says what became of the actor.
  void LoseCallLocked(Actor& actor, uint64_t seq, proto::RemoteError error)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void ApplyInfoLocked(Actor& actor, const proto::ActorInfo& info)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  Runtime& runtime_;
  absl::Mutex mu_;
  // Object-table updates and registrations made under mu_, run after it is released (their
  // callbacks may pump actors).
  std::vector<std::function<void()>> deferred_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, std::unique_ptr<Actor>> actors_ ABSL_GUARDED_BY(mu_);
};

}  // namespace weft::internal
