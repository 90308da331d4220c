// ActorCalls::Cancel: weft::Cancel of an actor call (client/src/actor_calls.h).

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "client/src/actor_calls.h"
#include "client/src/runtime.h"
#include "weft/error.h"

namespace weft::internal {

std::optional<CancelOutcome> ActorCalls::Cancel(const std::string& object_id,
                                                const CancelOptions& options) {
  std::optional<CancelOutcome> outcome;
  std::string address;  // of the worker a sent call is cancelled at
  {
    absl::MutexLock lock(&mu_);
    // Cancels are rare: the calls in flight are looked through rather than indexed.
    for (auto& [actor_id, entry] : actors_) {
      Actor& actor = *entry;
      if (actor.unfinished == 0 && actor.held.empty()) continue;
      auto sent = std::find_if(actor.sent.begin(), actor.sent.end(),
                               [&](const auto& s) { return s.second.object_id == object_id; });
      const bool queued =
          sent == actor.sent.end() &&
          (std::any_of(actor.resend.begin(), actor.resend.end(),
                       [&](const Pending& p) { return p.object_id == object_id; }) ||
           std::any_of(actor.queues.begin(), actor.queues.end(), [&](const auto& q) {
             return std::any_of(q.second.begin(), q.second.end(),
                                [&](const Pending& p) { return p.object_id == object_id; });
           }));
      if (sent == actor.sent.end() && !queued) {
        // Failed already, held until the head says what became of its actor: nothing to stop.
        if (std::any_of(actor.held.begin(), actor.held.end(),
                        [&](const auto& h) { return h.first == object_id; })) {
          outcome = CancelOutcome::kRequested;
          break;
        }
        continue;
      }
      if (options.force) {
        throw Error(static_cast<int>(ErrorCode::kInvalidArgument),
                    absl::StrCat("weft::Cancel with force is for tasks only: killing the worker of "
                                 "actor ",
                                 actor.id, " (", actor.class_name, ") would kill the actor"));
      }
      if (queued) {
        DropQueuedLocked(actor, object_id);
        outcome = CancelOutcome::kDropped;
      } else if (sent->second.cancelled) {
        outcome = CancelOutcome::kRequested;  // asked already
      } else {
        sent->second.cancelled = true;  // never sent again (LoseCallLocked)
        address = actor.address;
        outcome = CancelOutcome::kRequested;
      }
      break;
    }
  }
  RunDeferred();
  if (!address.empty()) {
    proto::CancelCall cancel;
    cancel.set_object_id(object_id);
    cancel.set_recursive(options.recursive);
    runtime_.workers().CancelCall(address, std::move(cancel));
  }
  return outcome;
}

bool ActorCalls::DropQueuedLocked(Actor& actor, const std::string& object_id) {
  for (auto it = actor.resend.begin(); it != actor.resend.end(); ++it) {
    if (it->object_id != object_id) continue;
    FailCancelledLocked(actor, object_id, it->call.method(),
                        "the call was cancelled before it ran");
    actor.resend.erase(it);
    return true;
  }
  for (auto& [caller, queue] : actor.queues) {
    for (auto it = queue.begin(); it != queue.end(); ++it) {
      if (it->object_id != object_id) continue;
      FailCancelledLocked(actor, object_id, it->call.method(),
                          "the call was cancelled before it was sent");
      queue.erase(it);
      // The calls behind it may have waited for it (an actor that keeps order).
      PumpCallerLocked(actor, caller);
      return true;
    }
  }
  return false;
}

void ActorCalls::FailCancelledLocked(Actor& actor, const std::string& object_id,
                                     const std::string& method, const std::string& why) {
  proto::RemoteError error;
  error.set_code(static_cast<int>(ErrorCode::kCancelled));
  error.set_kind(proto::FAILURE_CANCELLED);
  error.set_message(why);
  error.set_actor_id(actor.id);
  error.set_class_name(actor.class_name);
  error.set_method(method);
  --actor.unfinished;
  deferred_.push_back([this, id = object_id, error = std::move(error)]() mutable {
    runtime_.objects().SetError(id, std::move(error));
  });
}

}  // namespace weft::internal
