#include "client/src/actor_calls.h"

#include <algorithm>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/str_cat.h"
#include "client/src/call_token.h"
#include "client/src/runtime.h"
#include "client/src/stream_table.h"
#include "client/src/wire_args.h"
#include "common/rpc.h"
#include "weft/error.h"

namespace weft::internal {
namespace {

bool ShouldRelocate(const proto::CallResult& result) {
  if (!result.has_error()) return false;
  const proto::RemoteError& error = result.error();
  if (error.kind() == proto::FAILURE_UNREACHABLE) return true;  // the stream broke
  // The worker no longer hosts the actor (or has it dead): a system error of no other kind.
  return error.kind() == proto::FAILURE_UNSPECIFIED && error.type().empty() &&
         (error.code() == 14 || error.code() == 5);
}

}  // namespace

ActorCalls::Actor& ActorCalls::ActorLocked(const std::string& actor_id,
                                           const std::string& class_name) {
  auto& actor = actors_[actor_id];
  if (!actor) {
    actor = std::make_unique<Actor>();
    actor->id = actor_id;
    actor->class_name = class_name;
    const ClassInfo* cls = FindClass(class_name);
    if (cls && !cls->groups.empty()) actor->cls = cls;
  }
  return *actor;
}

const std::string& ActorCalls::GroupOf(const Actor& actor, const std::string& method,
                                       const CallOptions& options) {
  if (!options.concurrency_group.empty() || !actor.cls) return options.concurrency_group.str();
  for (const auto& m : actor.cls->methods) {
    if (m.name == method) return m.group;
  }
  return options.concurrency_group.str();  // empty
}

void ActorCalls::Track(const proto::ActorInfo& info, int max_pending_calls) {
  absl::Cleanup run_deferred = [this] { RunDeferred(); };
  absl::MutexLock lock(&mu_);
  Actor& actor = ActorLocked(info.actor_id(), info.class_name());
  actor.max_pending_calls = max_pending_calls;
  // A new handle's snapshot may be older than what this process heard since (through another
  // handle's watch): it never takes a placed actor back to PENDING, nor a dead one back to life
  // (that would count the calls in flight as lost).
  const bool stale =
      actor.state == proto::ACTOR_DEAD ||
      (info.state() == proto::ACTOR_PENDING &&
       (actor.state == proto::ACTOR_ALIVE || actor.state == proto::ACTOR_RESTARTING));
  if (!stale) ApplyInfoLocked(actor, info);
  if (actor.state != proto::ACTOR_ALIVE && actor.state != proto::ACTOR_DEAD) WatchLocked(actor);
  // Calls made while it was being created (Creating) go, if it is ALIVE already.
  PumpLocked(actor);
}

void ActorCalls::Creating(const std::string& actor_id, const std::string& class_name,
                          int max_pending_calls, int max_task_retries) {
  absl::MutexLock lock(&mu_);
  Actor& actor = ActorLocked(actor_id, class_name);
  actor.max_pending_calls = max_pending_calls;
  actor.max_task_retries = max_task_retries;  // what its calls made meanwhile are retried by
  actor.state = proto::ACTOR_PENDING;  // not asked about (WatchLocked) before the head has it
  actor.why = "being created: its request is on its way to the head";
}

bool ActorCalls::IsDead(const std::string& actor_id) {
  absl::MutexLock lock(&mu_);
  auto it = actors_.find(actor_id);
  return it != actors_.end() && it->second->state == proto::ACTOR_DEAD;
}

std::string ActorCalls::Submit(const std::string& actor_id, const std::string& class_name,
                               uint64_t caller, const std::string& method,
                               const CallOptions& options, std::vector<CallArg> args, bool stream) {
  const std::string object_id = ObjectTable::NewId();
  auto& objects = runtime_.objects();
  {
    absl::MutexLock lock(&mu_);
    Actor& actor = ActorLocked(actor_id, class_name);
    if (actor.max_pending_calls >= 0 && actor.unfinished >= actor.max_pending_calls) {
      throw PendingCallsLimitError(absl::StrCat("actor ", actor_id, " (", actor.class_name,
                                                ") has ", actor.unfinished,
                                                " calls unfinished, its max_pending_calls"));
    }
    objects.AddPending(object_id, /*held=*/true);  // the caller's ObjectRef adopts it
    if (stream) runtime_.streams().Open(object_id, options.stream_window);
    Pending pending;
    pending.call.set_actor_id(actor_id);
    pending.call.set_method(method);
    // Its concurrency group, named on the wire: the calls of one caller keep their order per
    // group, so a call waiting for its argument holds up none of another group.
    const std::string& group = GroupOf(actor, method, options);
    if (!group.empty()) pending.call.set_concurrency_group(group);
    const uint64_t key =
        group.empty() ? caller : caller ^ (std::hash<std::string>()(group) * 0x9E3779B97F4A7C15ull);
    pending.queue = key;
    if (!options.name.empty()) pending.call.set_name(options.name.str());
    pending.call.set_job_id(runtime_.config().job_id);
    pending.call.set_result_id(object_id);
    pending.call.set_caller(caller);
    pending.call.set_owner_address(runtime_.own_address());
    if (!runtime_.config().worker_id.empty()) {
      pending.call.set_owner_worker_id(runtime_.config().worker_id);
    }
    pending.args = std::move(args);
    pending.object_id = object_id;
    pending.seq = actor.next_seq++;
    pending.tries_left = options.max_task_retries.value_or(actor.max_task_retries);
    if (stream) {  // its items were taken: it is not sent again
      pending.call.set_stream_window(std::max(1, options.stream_window));
      pending.tries_left = 0;
    }
    if (auto* parent = CallToken::Current()) parent->AddChild(object_id);  // recursive cancels
    ++actor.unfinished;
    auto& queue = actor.queues[key];
    queue.push_back(std::move(pending));
    if (actor.state == proto::ACTOR_STATE_UNSPECIFIED) WatchLocked(actor);
    if (actor.state == proto::ACTOR_PENDING || actor.state == proto::ACTOR_RESTARTING) {
      objects.SetNote(object_id,
                      absl::StrCat("actor ", actor_id, " is ",
                                   actor.state == proto::ACTOR_PENDING ? "pending" : "restarting",
                                   ": ", actor.why));
      queue.back().note = Note::kActor;
    }
    const uint64_t seq = queue.back().seq;
    if (!ArgsResolved(objects, queue.back().args)) {
      // Registered after unlocking: a reference that resolves meanwhile pumps inline.
      deferred_.push_back([this, actor_id, key, seq, args = queue.back().args] {
        OnArgResolved(runtime_.objects(), args,
                      [this, actor_id, key, seq] { Pump(actor_id, key, seq); });
      });
    }
    PumpOneLocked(actor, key, seq);
    // Still queued at an ALIVE actor: it waits for an argument (its own, or an earlier call's).
    if (auto it = actor.queues.find(key); actor.state == proto::ACTOR_ALIVE &&
                                          it != actor.queues.end() && !it->second.empty() &&
                                          it->second.back().seq == seq) {
      NoteWaitLocked(actor, it->second.back(), it->second.size() == 1);
    }
  }
  RunDeferred();
  return object_id;
}

void ActorCalls::RunDeferred() {
  std::vector<std::function<void()>> work;
  {
    absl::MutexLock lock(&mu_);
    work.swap(deferred_);
  }
  for (auto& item : work) item();
}

void ActorCalls::SendLocked(Actor& actor, Pending pending) {
  auto& objects = runtime_.objects();
  if (pending.note != Note::kNone) {
    objects.SetNote(pending.object_id, "");
    pending.note = Note::kNone;  // a retry is noted again from scratch
  }
  Sent sent_call;
  if (pending.tries_left != 0) sent_call.retry = pending;  // before its arguments are built
  proto::RemoteError failed;
  std::vector<std::shared_ptr<const std::string>> lent_inside;
  if (!BuildArgs(objects, pending.args, &pending.call, &failed, &lent_inside)) {
    --actor.unfinished;
    deferred_.push_back([this, id = pending.object_id, failed = std::move(failed)]() mutable {
      runtime_.objects().SetError(id, std::move(failed));
    });
    return;
  }
  for (auto& hold : lent_inside) sent_call.pins.push_back(std::move(hold));
  if (!sent_call.retry) {
    for (auto& arg : pending.args) {
      if (arg.ref) sent_call.pins.push_back(std::move(arg.ref));
      for (auto& lent : arg.lent) sent_call.pins.push_back(std::move(lent));
    }
  }
  const uint64_t seq = pending.seq;
  sent_call.method = pending.call.method();
  sent_call.object_id = std::move(pending.object_id);
  sent_call.queue = pending.queue;
  ++actor.in_flight[pending.queue];
  auto& sent_entry = actor.sent.emplace(seq, std::move(sent_call)).first->second;
  // Actors are never removed from actors_: the pointer outlives every call.
  auto lent = pending.call.lent_ids();
  if (pending.call.stream_window() > 0) {
    runtime_.streams().SetSource(sent_entry.object_id, actor.address);
  }
  const bool sent =
      runtime_.workers().Submit(actor.address, std::move(pending.call),
                                [this, actor = &actor, seq, address = actor.address,
                                 lent = std::move(lent)](proto::CallResult& result) {
                                  // Before the call's references go: the callee may still hold some
                                  // of them. A result that never came may have said so: the worker
                                  // is watched all the same (at once released if it is gone).
                                  if (result.borrowed_ids_size() > 0) {
                                    runtime_.objects().AddBorrowers(address, result.borrowed_ids());
                                  } else if (!lent.empty() && ShouldRelocate(result)) {
                                    runtime_.objects().AddBorrowers(address, lent);
                                  }
                                  OnResult(*actor, seq, result);
                                });
  if (!sent) {  // shutting down
    std::string id = std::move(sent_entry.object_id);
    LeftLocked(actor, sent_entry.queue);
    actor.sent.erase(seq);
    --actor.unfinished;
    deferred_.push_back([this, id = std::move(id)] {
      proto::RemoteError error;
      error.set_code(14);
      error.set_message("weft is shutting down");
      runtime_.objects().SetError(id, std::move(error));
    });
  }
}

void ActorCalls::FailLocked(Actor& actor, Pending& pending) {
  FailCallLocked(actor, pending.object_id, pending.call.method());
}

void ActorCalls::FailCallLocked(Actor& actor, const std::string& object_id,
                                const std::string& method) {
  proto::RemoteError error;
  error.set_code(14);
  error.set_message(
      absl::StrCat("actor ", actor.id, " (", actor.class_name, ") is dead: ", actor.why));
  error.set_actor_id(actor.id);
  error.set_class_name(actor.class_name);
  error.set_method(method);
  error.set_kind(proto::FAILURE_ACTOR_DIED);
  --actor.unfinished;
  deferred_.push_back([this, id = object_id, error = std::move(error)]() mutable {
    runtime_.objects().SetError(id, std::move(error));
  });
}

void ActorCalls::FailSentLocked(Actor& actor) {
  for (const auto& [seq, sent] : actor.sent) FailCallLocked(actor, sent.object_id, sent.method);
  actor.sent.clear();
  actor.in_flight.clear();
  for (auto& pending : actor.resend) FailLocked(actor, pending);
  actor.resend.clear();
}

void ActorCalls::LoseCallLocked(Actor& actor, uint64_t seq, proto::RemoteError error) {
  auto it = actor.sent.find(seq);
  if (it == actor.sent.end()) return;
  Sent sent = std::move(it->second);
  actor.sent.erase(it);
  LeftLocked(actor, sent.queue);
  if (sent.cancelled) {  // lost with its copy of the actor: it is not sent again
    return FailCancelledLocked(actor, sent.object_id, sent.method,
                               "the call was cancelled, and its copy of the actor was lost");
  }
  if (sent.retry) {  // still unfinished: it goes out again to the next copy of the actor
    if (sent.retry->tries_left > 0) --sent.retry->tries_left;
    actor.resend.push_back(std::move(*sent.retry));
    return;
  }
  --actor.unfinished;
  if (error.method().empty()) error.set_method(sent.method);
  actor.held.push_back({std::move(sent.object_id), std::move(error)});
}

void ActorCalls::OnResult(Actor& actor, uint64_t seq, proto::CallResult& result) {
  if (result.item() > 0) {  // an item of a streaming call: the call goes on
    std::string stream_id;
    {
      absl::MutexLock lock(&mu_);
      auto it = actor.sent.find(seq);
      if (it == actor.sent.end()) return;  // failed already
      stream_id = it->second.object_id;
    }
    return runtime_.streams().OnItem(stream_id, result);
  }
  std::string object_id;
  std::vector<std::shared_ptr<const std::string>> pins;  // released after the lock
  std::optional<Pending> retry;                          // its arguments too
  bool pumped = false;
  {
    absl::MutexLock lock(&mu_);
    auto it = actor.sent.find(seq);
    if (it == actor.sent.end()) return;  // failed already: the actor is dead or lost
    if (ShouldRelocate(result)) {
      // The worker is gone or no longer hosts the actor: ask the head what happened before
      // failing (or sending again) the call, so the error says why (e.g. it was killed).
      LoseCallLocked(actor, seq, std::move(*result.mutable_error()));
      if (actor.state == proto::ACTOR_ALIVE) actor.state = proto::ACTOR_STATE_UNSPECIFIED;
      actor.lost_address = actor.address;
      WatchLocked(actor);
      return;
    }
    object_id = std::move(it->second.object_id);
    pins = std::move(it->second.pins);
    retry = std::move(it->second.retry);
    const uint64_t queue = it->second.queue;
    actor.sent.erase(it);
    --actor.unfinished;
    // Room in a window that was full: the calls that waited for it go.
    pumped = LeftLocked(actor, queue);
    if (pumped) PumpCallerLocked(actor, queue);
  }
  if (pumped) RunDeferred();
  // Only a stored result needs a Rebuild: an inline one builds none on the call path.
  runtime_.objects().SetCallResult(
      object_id, result, result.has_stored() ? &CannotRebuildActorResult : ObjectTable::Rebuild());
}

bool ActorCalls::CannotRebuildActorResult(const std::string&, std::string* why_not) {
  *why_not = "an actor method's result cannot be rebuilt (the actor's state has moved on)";
  return false;
}

void ActorCalls::ApplyInfoLocked(Actor& actor, const proto::ActorInfo& info) {
  const bool lost = actor.state == proto::ACTOR_ALIVE && info.state() != proto::ACTOR_ALIVE;
  const bool moved = info.state() == proto::ACTOR_ALIVE && actor.address != info.address();
  if (info.state() == proto::ACTOR_ALIVE) {
    actor.renote = actor.renote || actor.state != proto::ACTOR_ALIVE;
    actor.out_of_order = info.executor() == "async" || info.max_concurrency() > 1;
    // Calls that run at once all fit: a barrier of them never waits for one still here.
    actor.window = std::max(kCallWindow, info.max_concurrency());
    if (actor.cls) {
      for (const auto& [group, limit] : actor.cls->groups)
        actor.window = std::max(actor.window, limit);
    }
  }
  actor.state = info.state();
  actor.address = info.address();
  actor.max_task_retries = info.max_task_retries();
  actor.why = info.state() == proto::ACTOR_DEAD ? info.death_reason() : info.pending_reason();
  if (lost || moved) {
    // The copy the sent calls went to is gone (restarting, or restarted elsewhere): they are
    // sent again or fail, without waiting for TCP to notice.
    std::vector<uint64_t> seqs;
    for (const auto& [seq, sent] : actor.sent) seqs.push_back(seq);
    for (uint64_t seq : seqs) {
      proto::RemoteError error;
      error.set_code(14);
      error.set_message(
          absl::StrCat("actor ", actor.id, " (", actor.class_name, ") lost the call: ", actor.why));
      LoseCallLocked(actor, seq, std::move(error));
    }
  }
  if (actor.state == proto::ACTOR_PENDING || actor.state == proto::ACTOR_RESTARTING) {
    for (auto& [caller, queue] : actor.queues) {
      for (auto& pending : queue) {
        pending.note = Note::kActor;
        runtime_.objects().SetNote(
            pending.object_id,
            absl::StrCat("actor ", actor.id, " is ",
                         actor.state == proto::ACTOR_PENDING ? "pending" : "restarting", ": ",
                         actor.why));
      }
    }
  }
}

void ActorCalls::Update(const proto::ActorInfo& info) {
  {
    absl::MutexLock lock(&mu_);
    auto it = actors_.find(info.actor_id());
    if (it == actors_.end()) return;
    ApplyInfoLocked(*it->second, info);
    if (it->second->state != proto::ACTOR_ALIVE) WatchLocked(*it->second);
  }
  RunDeferred();
}

void ActorCalls::MarkDead(const std::string& actor_id, const std::string& reason) {
  {
    absl::MutexLock lock(&mu_);
    auto it = actors_.find(actor_id);
    if (it == actors_.end()) return;
    it->second->state = proto::ACTOR_DEAD;
    it->second->why = reason;
    FailSentLocked(*it->second);
    PumpLocked(*it->second);
  }
  RunDeferred();
}

}  // namespace weft::internal
