// ActorCalls deciding which queued call goes when (client/src/actor_calls.h): per caller and
// concurrency group, in order or as arguments resolve, within the queue's window; and what a
// call still queued is noted to wait for.

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "client/src/actor_calls.h"
#include "client/src/runtime.h"
#include "client/src/wire_args.h"

namespace weft::internal {
namespace {

// Empty per-caller queues an actor keeps for reuse.
constexpr size_t kKeptCallerQueues = 16;

}  // namespace

void ActorCalls::Pump(const std::string& actor_id, uint64_t caller, uint64_t seq) {
  {
    absl::MutexLock lock(&mu_);
    auto it = actors_.find(actor_id);
    if (it != actors_.end()) PumpOneLocked(*it->second, caller, seq);
  }
  RunDeferred();
}

void ActorCalls::PumpOneLocked(Actor& actor, uint64_t caller, uint64_t seq) {
  // Just ALIVE (Track, Update or a watch's answer) and not pumped since: calls of any caller
  // may be ready.
  if (actor.renote) return PumpLocked(actor);
  PumpCallerLocked(actor, caller, seq);
}

void ActorCalls::PumpLocked(Actor& actor) {
  MergeResendLocked(actor);  // first: it may bring back a queue that had emptied
  std::vector<uint64_t> callers;
  for (const auto& [caller, queue] : actor.queues) callers.push_back(caller);
  for (uint64_t caller : callers) PumpCallerLocked(actor, caller);
  if (actor.renote && actor.state == proto::ACTOR_ALIVE) {
    actor.renote = false;
    for (auto& [caller, queue] : actor.queues) {
      for (size_t i = 0; i < queue.size(); ++i) NoteWaitLocked(actor, queue[i], i == 0);
    }
  }
}

void ActorCalls::NoteWaitLocked(const Actor& actor, Pending& pending, bool first) {
  if (const std::string* arg = UnresolvedArg(runtime_.objects(), pending.args)) {
    if (pending.note == Note::kArgument) return;
    pending.note = Note::kArgument;
    runtime_.objects().SetNote(pending.object_id,
                               absl::StrCat("the call waits for its argument ", *arg));
  } else if (!first && !actor.out_of_order) {
    if (pending.note == Note::kEarlierCall) return;
    pending.note = Note::kEarlierCall;
    // The first of the queue holds it up: it waits for its argument, or for room.
    const Pending& front = actor.queues.at(pending.queue).front();
    runtime_.objects().SetNote(
        pending.object_id,
        absl::StrCat(
            "actor ", actor.id, " (", actor.class_name,
            ") runs one call at a time, in order: the call is queued behind an earlier "
            "call of its caller, which waits for ",
            UnresolvedArg(runtime_.objects(), front.args) ? "its argument" : "room in the window"));
  } else if (!RoomLocked(actor, pending.queue)) {
    NoteWindowLocked(actor, pending);
  }
}

void ActorCalls::PumpCallerLocked(Actor& actor, uint64_t caller, std::optional<uint64_t> only) {
  // Retried calls go before anything made after them (before taking a queue: this adds some).
  MergeResendLocked(actor);
  auto& objects = runtime_.objects();
  auto found = actor.queues.find(caller);
  if (found == actor.queues.end()) return;
  auto& queue = found->second;
  if (actor.state == proto::ACTOR_DEAD) {
    while (!queue.empty()) {
      FailLocked(actor, queue.front());
      queue.pop_front();
    }
  }
  const auto send_at = [&](size_t at) {
    Pending pending = std::move(queue[at]);
    queue.erase(queue.begin() + static_cast<std::ptrdiff_t>(at));
    SendLocked(actor, std::move(pending));
  };
  if (actor.out_of_order && only) {
    // Only call `only` can have become ready: the others wait as they did (queues are in seq
    // order, retried calls first).
    auto at = std::lower_bound(queue.begin(), queue.end(), *only,
                               [](const Pending& p, uint64_t seq) { return p.seq < seq; });
    if (actor.state == proto::ACTOR_ALIVE && at != queue.end() && at->seq == *only &&
        ArgsResolved(objects, at->args)) {
      if (RoomLocked(actor, caller)) {
        send_at(static_cast<size_t>(at - queue.begin()));
      } else {
        NoteWindowLocked(actor, *at);
      }
    }
  } else {
    // In order, the first call that waits for an argument holds up the calls behind it; out
    // of order, it is passed over.
    for (size_t next = 0; actor.state == proto::ACTOR_ALIVE && next < queue.size();) {
      if (ArgsResolved(objects, queue[next].args)) {
        if (!RoomLocked(actor, caller)) {
          NoteWindowLocked(actor, queue[next]);
          break;
        }
        send_at(next);
      } else if (actor.out_of_order) {
        ++next;
      } else {
        break;
      }
    }
  }
  // The new first call of an actor that keeps order may have been noted as queued behind.
  if (!actor.out_of_order && actor.state == proto::ACTOR_ALIVE && !queue.empty() &&
      queue.front().note == Note::kEarlierCall) {
    NoteWaitLocked(actor, queue.front(), true);
  }
  // An emptied queue is kept for the caller's next call (no allocation per call) unless the
  // actor has many callers' queues.
  if (queue.empty() && actor.queues.size() > kKeptCallerQueues) actor.queues.erase(found);
  if (actor.state == proto::ACTOR_ALIVE && !actor.sent.empty()) WatchLocked(actor);
}

void ActorCalls::NoteWindowLocked(const Actor& actor, Pending& pending) {
  if (pending.note == Note::kWindow) return;
  pending.note = Note::kWindow;
  runtime_.objects().SetNote(
      pending.object_id,
      absl::StrCat("the call waits in this process: ", actor.window,
                   " calls of its caller (in its concurrency group) to actor ", actor.id, " (",
                   actor.class_name, ") are unanswered, and no more are sent at a time"));
}

bool ActorCalls::RoomLocked(const Actor& actor, uint64_t queue) const {
  auto it = actor.in_flight.find(queue);
  return it == actor.in_flight.end() || it->second < actor.window;
}

bool ActorCalls::LeftLocked(Actor& actor, uint64_t queue) {
  auto it = actor.in_flight.find(queue);
  if (it == actor.in_flight.end()) return false;
  const bool was_full = it->second >= actor.window;
  if (--it->second <= 0) actor.in_flight.erase(it);
  return was_full;
}

void ActorCalls::MergeResendLocked(Actor& actor) {
  if (actor.resend.empty() || actor.state != proto::ACTOR_ALIVE || !actor.lost_address.empty()) {
    return;
  }
  // Lost with the old copy and retried: back in line by submission order (queues stay in seq
  // order), which puts them first where the actor keeps order: all that waits was made after
  // them.
  for (auto& pending : actor.resend) {
    auto& queue = actor.queues[pending.queue];
    queue.insert(std::upper_bound(queue.begin(), queue.end(), pending.seq,
                                  [](uint64_t seq, const Pending& p) { return seq < p.seq; }),
                 std::move(pending));
  }
  actor.resend.clear();
}

}  // namespace weft::internal
