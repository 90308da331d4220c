#include "worker/call_reactor.h"

#include "client/src/remote_failure.h"
#include "common/rpc.h"

namespace weft::worker {

CallReactor::CallReactor(CallDispatcher& dispatcher)
    : dispatcher_(dispatcher), shared_(std::make_shared<Shared>()) {
  shared_->reactor = this;
  StartRead(&incoming_);
}

void CallReactor::OnReadDone(bool ok) {
  if (!ok) {
    std::lock_guard lock(shared_->mu);
    reads_done_ = true;
    MaybeFinishLocked();
    return;
  }
  {
    std::lock_guard lock(shared_->mu);
    unanswered_ += incoming_.calls_size();
  }
  for (auto& call : *incoming_.mutable_calls()) {
    dispatcher_.Dispatch(std::move(call), [shared = shared_](proto::CallResult result) {
      std::lock_guard lock(shared->mu);
      if (shared->reactor) shared->reactor->Deliver(std::move(result));
    });
  }
  incoming_.Clear();
  StartRead(&incoming_);
}

void CallReactor::Deliver(proto::CallResult result) {  // shared_->mu held
  --unanswered_;
  // Sent, a result over the limit would end the stream and every call on it: it fails alone
  // (a value over the inline threshold is stored, so this is an outsized error message or a
  // list of references).
  if (result.ByteSizeLong() + 16 > static_cast<size_t>(MaxMessageBytes())) {
    const uint64_t call_id = result.call_id();
    const size_t bytes = result.ByteSizeLong();
    result.Clear();
    result.set_call_id(call_id);
    *result.mutable_error() = internal::MessageTooLarge("the call's answer weighs", bytes);
  }
  *queued_.add_results() = std::move(result);
  if (!writing_ && !finished_) WriteLocked();
}

void CallReactor::WriteLocked() {
  outgoing_.Clear();
  TakeBatch(*queued_.mutable_results(), *outgoing_.mutable_results(), MaxMessageBytes());
  writing_ = true;
  StartWrite(&outgoing_);
}

void CallReactor::OnWriteDone(bool ok) {
  std::lock_guard lock(shared_->mu);
  writing_ = false;
  if (!ok) {  // the caller is gone; results still arriving are dropped
    if (!finished_) {
      finished_ = true;
      Finish(grpc::Status::CANCELLED);
    }
    return;
  }
  if (queued_.results_size() > 0 && !finished_) {
    WriteLocked();
    return;
  }
  MaybeFinishLocked();
}

void CallReactor::MaybeFinishLocked() {
  if (finished_ || !reads_done_ || writing_ || unanswered_ > 0 || queued_.results_size() > 0) {
    return;
  }
  finished_ = true;
  Finish(grpc::Status::OK);
}

void CallReactor::OnDone() {
  {
    std::lock_guard lock(shared_->mu);
    shared_->reactor = nullptr;
  }
  delete this;
}

}  // namespace weft::worker
