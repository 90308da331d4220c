#pragma once

#include <grpcpp/grpcpp.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>

#include "absl/container/flat_hash_map.h"
#include "worker.grpc.pb.h"
#include "worker/call_dispatcher.h"

namespace weft::worker {

// Bytes of results one Calls stream queues behind its write in flight before it stops reading
// calls (see CallReactor): 16 object chunks, or 160 results at the inline threshold. A caller
// that reads reaches it only when its calls make results faster than the connection carries
// them; the write that resumes its reads (the queue, taken whole) lasts over 10 ms on loopback,
// far longer than the next calls take to be read and run, and more than a LAN's bandwidth-delay
// product, so the pause costs it no throughput. A caller that reads nothing makes the worker hold
// about the budget (twice it if it stopped reading in a burst: the queue, and the write in flight
// taken from it) plus the results of the calls read before the pause, instead of all its results.
inline constexpr size_t kQueuedResultBudget = 16 << 20;

// The worker's end of one caller's Calls stream: reads batches of calls in order, hands each
// to the dispatcher, and writes results back in batches as they finish. The stream ends when
// the caller is done writing and every call has its result written.
//
// Backpressure: while more than kQueuedResultBudget bytes of results wait behind the write in
// flight (the caller reads them slower than its calls make them, or stopped reading), the
// stream reads no more calls: none of that caller's new calls runs, and HTTP/2's flow control
// holds them at the caller. The calls already read still run and queue their results. Reading
// resumes when a write completes and the queue is within the budget again.
class CallReactor final : public grpc::ServerBidiReactor<proto::CallBatch, proto::ResultBatch> {
 public:
  // Runs a call; `reply` runs exactly once, on any thread (CallDispatcher::Dispatch).
  using Dispatch = std::function<void(proto::Call, CallDispatcher::Reply)>;
  // Cancels a call (CallDispatcher::Cancel); after the calls of its batch are dispatched. A
  // streaming call still running when its caller's stream ends is cancelled too (its producer
  // would wait for room forever).
  using Cancel = std::function<void(const proto::CancelCall&)>;
  // Takes a streaming call's acknowledgement (CallDispatcher::Ack).
  using Ack = std::function<void(const proto::StreamAck&)>;

  // `queued_budget`: see kQueuedResultBudget (tests choose others). `cancel`, `ack` may be
  // null.
  explicit CallReactor(Dispatch dispatch, Cancel cancel = nullptr, Ack ack = nullptr,
                       size_t queued_budget = kQueuedResultBudget);

  // For stats and tests, over every Calls stream of this process: the bytes of results waiting
  // to be written or being written.
  static int64_t HeldResultBytes();
  // The streams that stopped reading calls until their results are written.
  static int PausedStreams();

  void OnReadDone(bool ok) override;
  void OnWriteDone(bool ok) override;
  void OnDone() override;
  // The caller is gone (or cancelled the stream): its streaming calls are cancelled, since
  // their producers would wait for room forever (and hold the stream open).
  void OnCancel() override;

 private:
  // What results delivered after the stream is gone must not touch.
  struct Shared {
    std::mutex mu;
    CallReactor* reactor;  // null once the stream is done
  };
  void Deliver(proto::CallResult result);
  void WriteLocked();
  void MaybeFinishLocked();
  // Cancels the streaming calls not answered yet (not under shared_->mu).
  void CancelStreams();

  const Dispatch dispatch_;
  const Cancel cancel_;
  const Ack ack_;
  const size_t queued_budget_;
  std::shared_ptr<Shared> shared_;
  proto::CallBatch incoming_;
  proto::ResultBatch outgoing_;  // being written
  proto::ResultBatch queued_;    // waiting for the write in flight
  // Guarded by shared_->mu:
  bool writing_ = false;
  bool reads_done_ = false;
  bool reads_paused_ = false;  // no read in flight: the queue is over budget
  bool finished_ = false;
  int64_t unanswered_ = 0;  // dispatched calls whose result is not queued yet
  // Streaming calls not answered yet: their result ids by call id.
  absl::flat_hash_map<uint64_t, std::string> streaming_;
  size_t queued_bytes_ = 0;   // of queued_
  size_t writing_bytes_ = 0;  // of outgoing_
};

}  // namespace weft::worker
