#pragma once

#include <grpcpp/grpcpp.h>

#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "worker.grpc.pb.h"

namespace weft::internal {

// One caller's Calls stream to one worker. Calls go out in submission order, batched while a
// write is in flight; results come back in any order and are matched by call id. When the
// stream ends, every unfinished call fails with UNAVAILABLE. Thread-safe.
class CallStream final : public grpc::ClientBidiReactor<proto::CallBatch, proto::ResultBatch> {
 public:
  using Done = std::function<void(proto::CallResult&)>;

  // Opens the stream with its first call (which fails with the stream if it cannot start).
  // The owner must keep it until it is done (WaitDone returned, or done()):
  // gRPC uses it until then. Its last reference then goes on the owner's side, never on a gRPC
  // thread: that would release the context (and maybe the last reference to its channel) on a
  // thread of gRPC's callback queue, which gRPC 1.51 then frees under that very thread.
  static std::shared_ptr<CallStream> Open(proto::Worker::Stub& stub, std::string address,
                                          proto::Call first, Done done);

  // Sends `call` (its call_id is assigned here). False when the stream has ended: open another.
  bool Submit(proto::Call call, Done done);

  // Asks the worker to cancel a call sent (or queued) on this stream, named by its result id.
  // False when the stream has ended (its calls failed already).
  bool CancelCall(proto::CancelCall cancel);
  // Tells the worker how many items of a streaming call on this stream were taken.
  bool Ack(proto::StreamAck ack);

  // Ends the stream: unfinished calls fail.
  void Cancel();
  // Waits until the stream has ended and every unfinished call's callback has returned.
  void WaitDone();
  // Whether that has happened (then the owner may drop the stream).
  bool done();

  void OnWriteDone(bool ok) override;
  void OnReadDone(bool ok) override;
  void OnDone(const grpc::Status& status) override;

 private:
  explicit CallStream(std::string address) : address_(std::move(address)) {}
  void WriteLocked();
  void EndLocked();

  const std::string address_;
  grpc::ClientContext context_;
  proto::ResultBatch incoming_;

  std::mutex mu_;
  bool ended_ = false;
  bool writing_ = false;
  bool held_ = true;      // the hold taken at Open, released when the stream ends
  bool killing_ = false;  // a forced cancel went out: the worker ends itself
  uint64_t next_call_id_ = 1;
  proto::CallBatch outgoing_;  // being written
  proto::CallBatch queued_;    // waiting for the write in flight
  absl::flat_hash_map<uint64_t, Done> unfinished_;
  bool done_ = false;  // OnDone has run the last callbacks
  std::condition_variable done_changed_;
};

}  // namespace weft::internal
