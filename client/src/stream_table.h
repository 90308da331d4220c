#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "worker.pb.h"

namespace weft::internal {

class Runtime;

// The streaming calls this process made (weft/generator.h): their items as they arrive, until
// the reader (an ObjectRefGenerator) takes them in order. Each item is an object of this
// process (StreamItemId), held here until taken. The stream ends with its call's own result:
// its number of items, or an error, which the reader gets as one more item (the call's result
// itself). The reader's progress goes back to the producer's worker (StreamAck): the producer
// runs at most the call's window ahead of it. Thread-safe.
class StreamTable {
 public:
  explicit StreamTable(Runtime& runtime) : runtime_(runtime) {}

  // Streaming call `result_id` was submitted, with `window`.
  void Open(const std::string& result_id, int window);
  // Its items come from the worker at `address` (where acknowledgements go).
  void SetSource(const std::string& result_id, const std::string& address);
  // Item `result.item()` arrived (its outcome is moved out of `result`).
  void OnItem(const std::string& result_id, proto::CallResult& result);

  // The next item's id (its hold counted for the caller to adopt), or nullopt after the last;
  // waits at most `timeout` (null: no limit). Throws weft::Error DEADLINE_EXCEEDED, and
  // FAILED_PRECONDITION on an async actor's loop.
  std::optional<std::string> Next(const std::string& result_id,
                                  const std::chrono::milliseconds* timeout);
  // The reader is gone: items not taken are dropped, and a call still producing is cancelled.
  void Close(const std::string& result_id);

 private:
  struct Stream {
    int64_t window = 0;
    std::string address;
    std::map<int64_t, std::string> arrived;  // not taken yet, by number; one hold each
    int64_t next = 1;                        // the number of the next item to hand out
    int64_t acked = 0;                       // items the producer heard were taken
    bool ended = false;
    // Once ended: the number of items; failed, the error's place (the item after the last one
    // here in order).
    int64_t total = 0;
    bool failed = false;  // ended with an error
    bool closed = false;  // the reader is gone
  };
  // The call's own result is here: the stream has ended.
  void OnEnd(const std::string& result_id);
  // The next item of the stream, if it is here (or the end); `wait` when the reader must wait.
  std::optional<std::string> TakeLocked(const std::string& result_id, bool* wait)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Tells the producer how far the reader got, once a quarter of its window was taken (or
  // `now`, before the reader waits).
  void MaybeAckLocked(const std::string& result_id, Stream& stream, bool now)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  Runtime& runtime_;
  absl::Mutex mu_;
  absl::CondVar changed_;
  absl::flat_hash_map<std::string, Stream> streams_ ABSL_GUARDED_BY(mu_);
};

}  // namespace weft::internal
