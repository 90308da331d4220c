#pragma once

#include <asio/io_context.hpp>
#include <asio/steady_timer.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "node.grpc.pb.h"

namespace weft::worker {

// Fences a worker whose raylet stops answering while still alive (SIGSTOPped, starved): the
// lifeline pipe only reports a raylet that died. Every bound/8 it sends the raylet a
// CheckNode (with its own deadline); each answer says how long the worker may serve, counted
// from the request's sending: never past the moment the node itself would fence plus
// WorkerGrace(bound) (common/fence_rule.h). Halfway through that grace it asks once more, so
// a node whose deadline moved on at the last moment is heard. When the moment passes without
// a newer answer, `on_fence` runs on the io_context; it must end the process at once.
//
// Methods run on the io_context's thread; answers arrive on gRPC threads and are posted
// there. The watch must outlive the io_context's run.
class RayletWatch {
 public:
  using Clock = std::chrono::steady_clock;

  RayletWatch(asio::io_context& io, std::shared_ptr<grpc::Channel> raylet, std::string worker_id,
              absl::Duration bound, std::function<void(const std::string& why)> on_fence);
  ~RayletWatch();

  // Starts watching; the worker may serve until `sent + serve_for` (e.g. from its
  // registration's answer), and never longer than bound + WorkerGrace(bound) past `sent`.
  void Start(Clock::time_point sent, absl::Duration serve_for);

 private:
  struct Inbox;  // where answers go; outlives the watch while calls are in flight
  void Extend(Clock::time_point sent, absl::Duration serve_for);
  void ScheduleCheck();
  void SendCheck();

  asio::io_context& io_;
  std::unique_ptr<proto::NodeManager::Stub> stub_;
  const std::string worker_id_;
  const absl::Duration bound_;
  const absl::Duration grace_;  // WorkerGrace(bound_)
  const absl::Duration period_;
  const std::function<void(const std::string&)> on_fence_;
  std::shared_ptr<Inbox> inbox_;
  asio::steady_timer check_timer_;
  asio::steady_timer recheck_timer_;  // halfway through the grace
  asio::steady_timer fence_timer_;
  Clock::time_point fence_at_;
};

}  // namespace weft::worker
