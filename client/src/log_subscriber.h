#pragma once

#include <grpcpp/channel.h>
#include <grpcpp/client_context.h>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "log.grpc.pb.h"

namespace weft::internal {

// A driver's end of its job's log stream: prints every line the job's workers write, as
// "(Counter pid=4121) added 3" (the prefix comes from the worker), stdout lines on
// std::cout and stderr lines on std::cerr, each whole and flushed. A stream broken by the head
// going away is opened again while the head may come back (kHeadUnavailableWait); any other
// failure is said once (spdlog warning), and it stays silent. Thread-safe.
class LogSubscriber {
 public:
  // Where lines go; the default writes to std::cout / std::cerr. Called on a gRPC thread,
  // one line at a time, in order.
  using Printer = std::function<void(proto::LogStream stream, const std::string& text)>;

  // Subscribes to `job_id`'s output at the head behind `head_channel` (which must carry the
  // cluster token). Returns at once; lines printed before the subscription reached the head
  // are delivered too (the head keeps the latest ones of a job nobody listens to).
  LogSubscriber(std::shared_ptr<grpc::Channel> head_channel, std::string job_id,
                Printer printer = nullptr);

  // Cancels the stream and waits until it has ended; lines not yet printed are lost (call
  // Flush first to keep them).
  ~LogSubscriber();

  LogSubscriber(const LogSubscriber&) = delete;
  LogSubscriber& operator=(const LogSubscriber&) = delete;

  // Barrier: has every node publish what its workers wrote so far, then waits until those
  // lines are printed. True when they were, false when `timeout` passed first, the head
  // could not be reached, or the stream has failed.
  bool Flush(std::chrono::milliseconds timeout);

  // Lines printed so far (including notices of dropped lines).
  uint64_t lines_printed() const;

 private:
  class Reader;
  std::shared_ptr<Reader> Current() const;
  void Resubscribe();  // the resubscriber_ thread

  const std::string job_id_;
  std::unique_ptr<proto::LogBroker::Stub> stub_;
  const Printer printer_;
  mutable std::mutex mu_;
  std::condition_variable changed_;  // closing_, gave_up_ or reader_ changed
  bool closing_ = false;             // guarded by mu_
  bool gave_up_ = false;             // guarded by mu_; no stream will be opened again
  std::shared_ptr<Reader> reader_;   // guarded by mu_; the current stream
  uint64_t lines_before_ = 0;        // guarded by mu_; printed by the streams before it
  std::thread resubscriber_;
};

}  // namespace weft::internal
