#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <vector>

#include "client/src/call_token.h"
#include "worker.pb.h"

namespace weft::worker {

// A streaming call's items on their way to the caller (see Call.stream_window): each item is
// sent as it is produced; the producer waits (StreamRoom) while `window` items are not taken
// (StreamAck); the call's own reply goes once every item's reply has gone, so that its caller
// has them all when it hears the stream ended. Thread-safe.
class StreamSink final : public internal::ItemSink,
                         public std::enable_shared_from_this<StreamSink> {
 public:
  using Reply = std::function<void(proto::CallResult)>;
  // Sends item `item` (from 1); `replied` runs once its reply has gone to the caller.
  using SendItem = std::function<void(int64_t item, internal::PackedResult packed,
                                      std::function<void()> replied)>;

  // `stop`: the call was answered while its producer may still run (its actor destroyed, the
  // call cancelled before it started): it stops the producer (a cancellation).
  StreamSink(int window, SendItem send, std::function<void()> stop)
      : window_(window), send_(std::move(send)), stop_(std::move(stop)) {}

  void Send(internal::PackedResult item) override;
  bool HasRoom() override;
  bool RoomOrWake(const std::shared_ptr<internal::Suspension>& suspension) override;

  // The caller has taken the first `taken` items.
  void Ack(int64_t taken);
  // The call's own reply, held until every item's reply has gone. Once it is given, items are
  // no longer sent, and the producer is stopped.
  Reply Last(Reply reply);

 private:
  void Replied();

  const int64_t window_;
  const SendItem send_;
  const std::function<void()> stop_;
  bool answered_ = false;  // the call's own reply was given: later items are dropped
  std::mutex mu_;
  int64_t produced_ = 0;
  int64_t taken_ = 0;
  int64_t unreplied_ = 0;                           // items sent whose reply has not gone yet
  std::shared_ptr<internal::Suspension> producer_;  // waiting for room
  std::function<void()> last_;                      // the call's reply, waiting for the items
};

}  // namespace weft::worker
