#include "worker/call_reactor.h"

#include <atomic>

#include "client/src/remote_failure.h"
#include "common/rpc.h"
#include "worker/serial_queue.h"

namespace weft::worker {
namespace {

std::atomic<int64_t> held_result_bytes{0};
std::atomic<int> paused_streams{0};

}  // namespace

int64_t CallReactor::HeldResultBytes() { return held_result_bytes.load(); }
int CallReactor::PausedStreams() { return paused_streams.load(); }

CallReactor::CallReactor(Dispatch dispatch, Cancel cancel, Ack ack, size_t queued_budget)
    : dispatch_(std::move(dispatch)),
      cancel_(std::move(cancel)),
      ack_(std::move(ack)),
      queued_budget_(queued_budget),
      shared_(std::make_shared<Shared>()) {
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
    for (const auto& call : incoming_.calls()) {
      if (call.stream_window() > 0) streaming_.emplace(call.call_id(), call.result_id());
    }
  }
  // A call of an idle one-at-a-time actor runs on this thread, once the batch is dispatched and
  // the next read started (below): no pool thread is woken for it.
  CallerRuns caller_runs;
  for (auto& call : *incoming_.mutable_calls()) {
    dispatch_(std::move(call), [shared = shared_](proto::CallResult result) {
      std::lock_guard lock(shared->mu);
      if (shared->reactor) shared->reactor->Deliver(std::move(result));
    });
  }
  if (cancel_) {
    for (const auto& cancel : incoming_.cancels()) cancel_(cancel);
  }
  if (ack_) {
    for (const auto& ack : incoming_.acks()) ack_(ack);
  }
  incoming_.Clear();
  {
    std::lock_guard lock(shared_->mu);
    // The caller takes its results slower than its calls make them, or not at all: its further
    // calls wait at the caller (HTTP/2 flow control) until the write in flight is done.
    if (queued_bytes_ > queued_budget_) {
      reads_paused_ = true;
      ++paused_streams;
    } else {
      StartRead(&incoming_);
    }
  }
  // The next batch may be read (on another thread) while the kept call runs: a cancel of it
  // arrives, and later calls queue behind it. It touches no member: the reply goes through
  // shared_, and gRPC calls OnDone only after this reaction returns.
  caller_runs.Run();
}

void CallReactor::Deliver(proto::CallResult result) {  // shared_->mu held
  if (result.item() == 0) {  // a call's own result (a stream's items come before it)
    --unanswered_;
    if (!streaming_.empty()) streaming_.erase(result.call_id());
  }
  // Sent, a result over the limit would end the stream and every call on it: it fails alone
  // (a value over the inline threshold is stored, so this is an outsized error message or a
  // list of references).
  size_t bytes = result.ByteSizeLong();
  if (bytes + 16 > static_cast<size_t>(MaxMessageBytes())) {
    const uint64_t call_id = result.call_id();
    const int64_t item = result.item();
    result.Clear();
    result.set_call_id(call_id);
    result.set_item(item);
    *result.mutable_error() = internal::MessageTooLarge("the call's answer weighs", bytes);
    bytes = result.ByteSizeLong();
  }
  queued_bytes_ += bytes;
  held_result_bytes += static_cast<int64_t>(bytes);
  *queued_.add_results() = std::move(result);
  if (!writing_ && !finished_) WriteLocked();
}

void CallReactor::WriteLocked() {
  outgoing_.Clear();
  TakeBatch(*queued_.mutable_results(), *outgoing_.mutable_results(), MaxMessageBytes());
  writing_bytes_ = 0;
  for (const auto& result : outgoing_.results()) writing_bytes_ += result.ByteSizeLong();
  queued_bytes_ -= writing_bytes_;
  writing_ = true;
  StartWrite(&outgoing_);
}

void CallReactor::OnWriteDone(bool ok) {
  std::lock_guard lock(shared_->mu);
  writing_ = false;
  held_result_bytes -= static_cast<int64_t>(writing_bytes_);
  writing_bytes_ = 0;
  if (!ok) {  // the caller is gone; results still arriving are dropped
    if (!finished_) {
      finished_ = true;
      Finish(grpc::Status::CANCELLED);
    }
    return;
  }
  if (finished_) return;
  if (queued_.results_size() > 0) WriteLocked();
  if (reads_paused_ && queued_bytes_ <= queued_budget_) {
    reads_paused_ = false;
    --paused_streams;
    StartRead(&incoming_);
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

void CallReactor::OnCancel() { CancelStreams(); }

void CallReactor::CancelStreams() {
  absl::flat_hash_map<uint64_t, std::string> streaming;
  {
    std::lock_guard lock(shared_->mu);
    streaming.swap(streaming_);
  }
  // Nobody takes their items any more: their producers stop at their next co_yield.
  for (const auto& [call_id, object_id] : streaming) {
    proto::CancelCall cancel;
    cancel.set_object_id(object_id);
    cancel.set_recursive(true);
    if (cancel_) cancel_(cancel);
  }
}

void CallReactor::OnDone() {
  CancelStreams();  // should the stream end without a cancel
  {
    std::lock_guard lock(shared_->mu);
    shared_->reactor = nullptr;
    held_result_bytes -= static_cast<int64_t>(queued_bytes_);  // never to be written
    if (reads_paused_) --paused_streams;
  }
  delete this;
}

}  // namespace weft::worker
