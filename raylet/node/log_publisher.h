#pragma once

#include <asio/io_context.hpp>
#include <asio/steady_timer.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "log.pb.h"

namespace weft::node {

// Batches a node's worker output lines and publishes them to the head, one batch in flight
// at a time so lines keep their order. A batch leaves when `batch_lines` lines are waiting,
// or `period` after the first of them arrived, or at once on Flush. The queue holds at most
// `max_queued` lines: while the head is unreachable the oldest are dropped (counted, with a
// warning per failed publish) and publishing is retried every `retry_after`. Never blocks.
// Thread-safe, destruction included; destroy it before the io_context.
class LogPublisher {
 public:
  struct Options {
    std::chrono::milliseconds period{20};
    size_t batch_lines = 256;
    size_t batch_bytes = 1 << 20;  // a batch stops growing past this much text
    size_t max_queued = 10000;
    std::chrono::milliseconds retry_after{500};
  };
  using Done = std::function<void(absl::Status)>;
  // Delivers one request to the head without blocking; must call `done` exactly once, from
  // any thread, with the outcome.
  using Send = std::function<void(proto::PublishLogsRequest, Done done)>;

  LogPublisher(asio::io_context& io, Options options, Send send);
  ~LogPublisher();
  LogPublisher(const LogPublisher&) = delete;
  LogPublisher& operator=(const LogPublisher&) = delete;

  // Queues one line.
  void Add(proto::LogLine line);

  // Publishes what is queued now without waiting for the period. `done` runs (on some
  // thread, possibly this one) once every line added before this call has been acknowledged
  // by the head or dropped: OK, or the error of a failed publish.
  void Flush(Done done);

  // Flush, waiting up to `timeout`; for shutdown, when the io_context no longer runs.
  [[nodiscard]] absl::Status FlushAndWait(absl::Duration timeout);

  uint64_t published() const;  // lines the head has acknowledged
  uint64_t dropped() const;    // lines dropped because the queue was full

 private:
  class Core;
  void StartTimer(std::chrono::milliseconds delay);

  asio::steady_timer timer_;
  std::shared_ptr<Core> core_;  // shared with calls in flight
};

}  // namespace weft::node
