#include "client/src/call_stream.h"

#include "absl/strings/str_cat.h"
#include "common/logging.h"
#include "common/rpc.h"

namespace weft::internal {

std::shared_ptr<CallStream> CallStream::Open(proto::Worker::Stub& stub, std::string address,
                                             proto::Call first, Done done) {
  std::shared_ptr<CallStream> stream(new CallStream(std::move(address)));
  stream->context_.set_wait_for_ready(false);
  stub.async()->Calls(&stream->context_, stream.get());
  stream->AddHold();  // held until the last write is done
  // Taken before StartCall: a stream whose connection is refused at once may end on another
  // thread as soon as it starts, and would then refuse its first call, which nobody answers.
  stream->Submit(std::move(first), std::move(done));
  stream->StartRead(&stream->incoming_);
  stream->StartCall();
  return stream;
}

bool CallStream::Submit(proto::Call call, Done done) {
  std::lock_guard lock(mu_);
  if (ended_) return false;
  call.set_call_id(next_call_id_++);
  unfinished_.emplace(call.call_id(), std::move(done));
  *queued_.add_calls() = std::move(call);
  if (!writing_) WriteLocked();
  return true;
}

bool CallStream::CancelCall(proto::CancelCall cancel) {
  std::lock_guard lock(mu_);
  if (ended_) return false;
  killing_ |= cancel.force();
  *queued_.add_cancels() = std::move(cancel);
  if (!writing_) WriteLocked();
  return true;
}

bool CallStream::Ack(proto::StreamAck ack) {
  std::lock_guard lock(mu_);
  if (ended_) return false;
  *queued_.add_acks() = std::move(ack);
  if (!writing_) WriteLocked();
  return true;
}

void CallStream::WriteLocked() {
  outgoing_.Clear();
  TakeBatch(*queued_.mutable_calls(), *outgoing_.mutable_calls(), MaxMessageBytes());
  // Cancels go with the batch: after their calls, whose ids they name, when those are in it (a
  // cancel of a call still queued here waits for the next batch).
  if (queued_.calls_size() == 0) {
    outgoing_.mutable_cancels()->Swap(queued_.mutable_cancels());
    outgoing_.mutable_acks()->Swap(queued_.mutable_acks());
  }
  writing_ = true;
  StartWrite(&outgoing_);
}

void CallStream::OnWriteDone(bool ok) {
  std::lock_guard lock(mu_);
  writing_ = false;
  if (!ok) {
    EndLocked();
    return;
  }
  if (ended_) return;
  if (queued_.calls_size() > 0 || queued_.cancels_size() > 0 || queued_.acks_size() > 0) {
    WriteLocked();
  }
}

void CallStream::OnReadDone(bool ok) {
  if (!ok) {
    std::lock_guard lock(mu_);
    EndLocked();
    return;
  }
  std::vector<std::pair<Done, proto::CallResult*>> finished;
  {
    std::lock_guard lock(mu_);
    for (auto& result : *incoming_.mutable_results()) {
      auto it = unfinished_.find(result.call_id());
      if (it == unfinished_.end()) continue;
      if (result.item() > 0) {  // a streaming call's item: its own result comes later
        finished.emplace_back(it->second, &result);
        continue;
      }
      finished.emplace_back(std::move(it->second), &result);
      unfinished_.erase(it);
    }
  }
  for (auto& [done, result] : finished) done(*result);
  incoming_.Clear();
  StartRead(&incoming_);
}

void CallStream::EndLocked() {
  ended_ = true;
  if (held_) {
    held_ = false;
    RemoveHold();  // OnDone follows once the operations in flight are done
  }
}

void CallStream::Cancel() { context_.TryCancel(); }

void CallStream::WaitDone() {
  std::unique_lock lock(mu_);
  done_changed_.wait(lock, [&] { return done_; });
}

bool CallStream::done() {
  std::lock_guard lock(mu_);
  return done_;
}

void CallStream::OnDone(const grpc::Status& status) {
  absl::flat_hash_map<uint64_t, Done> unfinished;
  {
    std::lock_guard lock(mu_);
    ended_ = true;
    unfinished.swap(unfinished_);
  }
  if (!unfinished.empty()) {
    // After a forced cancel the worker's end was asked for: its calls fail as after a crash.
    spdlog::log(killing_ ? spdlog::level::debug : spdlog::level::warn,
                "call stream to worker at {} ended with {} calls unfinished: {}", address_,
                unfinished.size(), status.error_message());
  }
  for (auto& [id, done] : unfinished) {
    proto::CallResult result;
    result.set_call_id(id);
    auto* error = result.mutable_error();
    error->set_code(14);
    error->set_kind(proto::FAILURE_UNREACHABLE);
    error->set_message(absl::StrCat("the worker at ", address_,
                                    " is unreachable or died: ", status.error_message()));
    done(result);
  }
  unfinished.clear();
  std::lock_guard lock(mu_);
  done_ = true;  // from here the owner may delete this: nothing follows but the unlock
  done_changed_.notify_all();
}

}  // namespace weft::internal
