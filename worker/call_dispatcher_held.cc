// The calls a CallDispatcher holds until they are answered (client/src/call_token.h): their
// one answer, their cancellation (CancelCall) and a streaming call's items (StreamSink).

#include <signal.h>
#include <unistd.h>

#include "client/src/call_token.h"
#include "common/logging.h"
#include "weft/cancel.h"
#include "weft/error.h"
#include "worker/call_dispatcher.h"
#include "worker/stream_sink.h"

namespace weft::worker {

CallDispatcher::Reply CallDispatcher::Hold(const proto::Call& call, const Token& token,
                                           Reply reply) {
  Held held;
  held.token = token;
  held.call.set_call_id(call.call_id());
  held.call.set_actor_id(call.actor_id());
  held.call.set_method(call.method());
  held.call.set_name(call.name());
  if (!call.actor_id().empty()) held.queue = CallerQueue(call);
  auto shared = std::make_shared<Reply>(std::move(reply));
  held.reply = [this, id = call.result_id(), token, shared](proto::CallResult result) {
    if (!token->Answer()) return;  // answered already: cancelled before it started
    {
      absl::MutexLock lock(&held_mu_);
      // The same call sent again (its caller lost the stream) is held under its newer token.
      if (auto it = held_.find(id); it != held_.end() && it->second.token == token) held_.erase(it);
    }
    (*shared)(std::move(result));
  };
  Reply once = held.reply;
  absl::MutexLock lock(&held_mu_);
  held_.insert_or_assign(call.result_id(), std::move(held));
  return once;
}

CallDispatcher::Reply CallDispatcher::Stream(const proto::Call& call, const Token& token, Reply raw,
                                             Reply reply) {
  // What an item's result needs of the call (not its arguments).
  auto header = std::make_shared<proto::Call>();
  header->set_call_id(call.call_id());
  header->set_actor_id(call.actor_id());
  header->set_method(call.method());
  header->set_name(call.name());
  header->set_job_id(call.job_id());
  header->set_result_id(call.result_id());
  header->set_owner_worker_id(call.owner_worker_id());
  header->set_owner_address(call.owner_address());
  auto sink = std::make_shared<StreamSink>(
      call.stream_window(),
      [this, header, raw = std::move(raw)](int64_t item, internal::PackedResult packed,
                                           std::function<void()> replied) {
        proto::Call item_call = *header;
        item_call.set_result_id(internal::StreamItemId(header->result_id(), item));
        Finish(item_call, std::move(packed), nullptr,
               [raw, item, replied = std::move(replied)](proto::CallResult result) {
                 result.set_item(item);
                 raw(std::move(result));
                 replied();
               });
      },
      [weak = std::weak_ptr<internal::CallToken>(token)] {
        if (auto token = weak.lock(); token && token->started()) token->RequestCancel();
      });
  token->set_sink(sink);
  return sink->Last(std::move(reply));
}

void CallDispatcher::Ack(const proto::StreamAck& ack) {
  Token token;
  {
    absl::MutexLock lock(&held_mu_);
    auto it = held_.find(ack.object_id());
    if (it == held_.end()) return;  // ended
    token = it->second.token;
  }
  if (auto* sink = static_cast<StreamSink*>(token->sink())) sink->Ack(ack.taken());
}

void CallDispatcher::Cancel(const proto::CancelCall& cancel) {
  Held held;
  {
    absl::MutexLock lock(&held_mu_);
    auto it = held_.find(cancel.object_id());
    if (it == held_.end()) return;  // finished, or never here
    held = it->second;
  }
  const bool is_task = held.call.actor_id().empty();
  if (cancel.recursive()) {  // first: a forced cancel ends this process
    for (const auto& child : held.token->TakeChildren()) {
      try {
        // Force is for tasks: an actor call among them is cancelled without it.
        try {
          internal::CancelCall(child, {.force = cancel.force(), .recursive = true});
        } catch (const Error& e) {
          if (e.error_code() != ErrorCode::kInvalidArgument || !cancel.force()) throw;
          internal::CancelCall(child, {.force = false, .recursive = true});
        }
      } catch (const std::exception& e) {
        spdlog::warn("cancelling call result={} of cancelled call result={}: {}", child,
                     cancel.object_id(), e.what());
      }
    }
  }
  if (held.token->CancelBeforeStart()) {
    Fail(held.call, absl::CancelledError("the call was cancelled before it started"), held.reply,
         proto::FAILURE_CANCELLED);
    if (!is_task) Drain(held.queue);
    return;
  }
  held.token->RequestCancel();
  if (cancel.force() && is_task && held.token->started()) {
    spdlog::warn("task {} result={} cancelled with force: worker pid={} ends", held.call.method(),
                 cancel.object_id(), getpid());
    spdlog::default_logger()->flush();
    kill(getpid(), SIGKILL);
  }
}

}  // namespace weft::worker
