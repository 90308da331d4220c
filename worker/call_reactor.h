#pragma once

#include <grpcpp/grpcpp.h>

#include <memory>
#include <mutex>

#include "worker.grpc.pb.h"
#include "worker/call_dispatcher.h"

namespace weft::worker {

// The worker's end of one caller's Calls stream: reads batches of calls in order, hands each
// to the dispatcher, and writes results back in batches as they finish. The stream ends when
// the caller is done writing and every call has its result written.
class CallReactor final : public grpc::ServerBidiReactor<proto::CallBatch, proto::ResultBatch> {
 public:
  explicit CallReactor(CallDispatcher& dispatcher);

  void OnReadDone(bool ok) override;
  void OnWriteDone(bool ok) override;
  void OnDone() override;

 private:
  // What results delivered after the stream is gone must not touch.
  struct Shared {
    std::mutex mu;
    CallReactor* reactor;  // null once the stream is done
  };
  void Deliver(proto::CallResult result);
  void WriteLocked();
  void MaybeFinishLocked();

  CallDispatcher& dispatcher_;
  std::shared_ptr<Shared> shared_;
  proto::CallBatch incoming_;
  proto::ResultBatch outgoing_;  // being written
  proto::ResultBatch queued_;    // waiting for the write in flight
  // Guarded by shared_->mu:
  bool writing_ = false;
  bool reads_done_ = false;
  bool finished_ = false;
  int64_t unanswered_ = 0;  // dispatched calls whose result is not queued yet
};

}  // namespace weft::worker
