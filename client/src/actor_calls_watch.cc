// ActorCalls following its actors through the head (client/src/actor_calls.h): watches that ask
// and long poll, and what their answers do to the calls held, queued and sent.

#include "absl/cleanup/cleanup.h"
#include "absl/strings/str_cat.h"
#include "client/src/actor_calls.h"
#include "client/src/head_calls.h"
#include "client/src/runtime.h"
#include "common/rpc.h"

namespace weft::internal {
namespace {

// How long retried calls wait for the head's verdict on an actor whose stream just broke while
// the head still places it there: then they go again (at most once per this period).
constexpr int kResendWaitMs = 1000;
constexpr int kMaxWatchErrors = 3;  // refusals of the head in a row before the actor counts dead

}  // namespace

void ActorCalls::WatchLocked(Actor& actor, int wait_ms) {
  // ALIVE: follow it while calls are in flight, so that the head's verdict (died, restarting)
  // reaches them without waiting for TCP. Otherwise ask; an unknown state is answered at once.
  const bool follow = actor.state == proto::ACTOR_ALIVE;
  bool& busy = follow ? actor.following : actor.asking;
  if (busy) return;
  busy = true;
  proto::WaitActorRequest request;
  request.set_actor_id(actor.id);
  request.set_known_state(actor.state);
  request.set_wait_ms(wait_ms);
  // On the process's one stream of watches to the head, which waits for a head that is down
  // or restarting (each watch up to its deadline) rather than asking in a loop.
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::milliseconds(wait_ms) + kControlRpcTimeout;
  if (!runtime_.actor_watches().Watch(
          runtime_.config().head_address, std::move(request), deadline,
          [this, follow, actor_id = actor.id](absl::StatusOr<proto::WaitActorReply> reply) {
            OnActorInfo(actor_id, follow, reply.status(),
                        reply.ok() ? reply->actor() : proto::ActorInfo());
          })) {
    busy = false;  // shutting down
  }
}

void ActorCalls::OnActorInfo(const std::string& actor_id, bool follow, const absl::Status& status,
                             const proto::ActorInfo& info) {
  absl::Cleanup run_deferred = [this] { RunDeferred(); };
  absl::MutexLock lock(&mu_);
  auto it = actors_.find(actor_id);
  if (it == actors_.end()) return;
  Actor& actor = *it->second;
  (follow ? actor.following : actor.asking) = false;
  // A follow that failed leaves the actor as it was (the head may be restarting: calls go on);
  // the next call sent follows again. Calls held for a verdict count it as a failed ask.
  if (follow && !status.ok() && actor.held.empty()) return;
  if (!status.ok()) {
    if (status.code() == absl::StatusCode::kNotFound) {
      actor.state = proto::ACTOR_DEAD;
      actor.why = std::string(status.message());
    } else if (status.code() != absl::StatusCode::kUnavailable &&
               status.code() != absl::StatusCode::kDeadlineExceeded) {
      // The head answers, and refuses: asking again at once would spin.
      if (++actor.watch_errors >= kMaxWatchErrors) {
        actor.state = proto::ACTOR_DEAD;
        actor.why = absl::StrCat("the head refuses to tell the actor's state: ", status.message());
      }
    } else if (actor.watch_failing_since == absl::Time()) {
      actor.watch_failing_since = absl::Now();
    } else if (absl::Now() - actor.watch_failing_since >= absl::FromChrono(kHeadUnavailableWait)) {
      actor.state = proto::ACTOR_DEAD;
      actor.why = HeadUnavailable(runtime_.config().head_address, status.message());
    }
  } else {
    actor.watch_failing_since = absl::Time();
    actor.watch_errors = 0;
    ApplyInfoLocked(actor, info);
    if (!follow && (!actor.held.empty() || !actor.resend.empty()) &&
        actor.state == proto::ACTOR_ALIVE && actor.address == actor.lost_address) {
      // The head still places it where the stream just broke: it has not heard of the death
      // yet. Follow it for the verdict (bounded by the node timeout, or the follow's wait)
      // rather than failing the held calls as merely unavailable, or sending the retried ones
      // back to the dead address at once (and again, as fast as they fail).
      WatchLocked(actor, actor.held.empty() ? kResendWaitMs : kWaitActorMs);
      return;
    }
  }
  actor.lost_address.clear();
  if (actor.state != proto::ACTOR_ALIVE && actor.state != proto::ACTOR_DEAD) WatchLocked(actor);
  if (actor.state == proto::ACTOR_ALIVE || actor.state == proto::ACTOR_DEAD) {
    // Calls that failed while the actor's fate was unknown fail now, with what is known.
    for (auto& [object_id, error] : actor.held) {
      if (actor.state == proto::ACTOR_DEAD) {
        error.set_code(14);
        error.set_message(
            absl::StrCat("actor ", actor.id, " (", actor.class_name, ") is dead: ", actor.why));
      }
      // Dead: for good. Alive again: the connection was lost, the call may or may not have run.
      error.set_kind(actor.state == proto::ACTOR_DEAD ? proto::FAILURE_ACTOR_DIED
                                                      : proto::FAILURE_ACTOR_UNAVAILABLE);
      if (error.actor_id().empty()) error.set_actor_id(actor.id);
      if (error.class_name().empty()) error.set_class_name(actor.class_name);
      deferred_.push_back([this, id = object_id, error = std::move(error)]() mutable {
        runtime_.objects().SetError(id, std::move(error));
      });
    }
    actor.held.clear();
  }
  if (actor.state == proto::ACTOR_DEAD) FailSentLocked(actor);  // the head knows before TCP
  PumpLocked(actor);  // the calls lost with the old copy first (MergeResendLocked)
  if (actor.state == proto::ACTOR_ALIVE && !actor.sent.empty()) WatchLocked(actor);
}

}  // namespace weft::internal
