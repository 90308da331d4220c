// A worker fences itself when its raylet stops answering, before the head can declare its node
// dead, and not while its node carries on. The worker's watch (RayletWatch) runs against a
// stand-in raylet on 127.0.0.1 that answers CheckNode by the node's rule (common/fence_rule.h)
// from a fence time the test moves, as heartbeat acknowledgements move a real node's.
//
// Times here are the faults injected (a node's deadline, a raylet that stops answering) and
// the bounds the README promises; nothing waits on a sleep for something to happen.

#include "worker/raylet_watch.h"

#include <grpc/grpc.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "common/fence_rule.h"
#include "common/rpc.h"

namespace weft::worker {
namespace {

using Clock = RayletWatch::Clock;
using std::chrono::milliseconds;

// The terms of a node whose head has a 6.4 s node timeout and a 500 ms heartbeat period:
// the node fences 4.8 s after its last acknowledged heartbeat was sent, and the head's verdict
// comes 1.6 s (the margin) after that; a worker asks every 600 ms, and its grace is 800 ms.
// (Long enough that a test thread woken 500 ms late still moves the node's deadline in time.)
constexpr absl::Duration kNodeTimeout = absl::Milliseconds(6400);
constexpr absl::Duration kHeartbeatPeriod = absl::Milliseconds(500);
const absl::Duration kFenceAfter = FenceAfter(kNodeTimeout, kHeartbeatPeriod);
const auto kMargin = absl::ToChronoMilliseconds(FenceMargin(kNodeTimeout, kHeartbeatPeriod));

// The raylet's side of CheckNode: answers as a node whose own fence comes at `fence_at`, or,
// once frozen, never (a SIGSTOPped raylet), or with 0 once fenced.
class StandInNode final : public proto::NodeManager::CallbackService {
 public:
  explicit StandInNode(Clock::time_point fence_at) : fence_at_(fence_at) {}
  ~StandInNode() override { Thaw(); }

  grpc::ServerUnaryReactor* CheckNode(grpc::CallbackServerContext* ctx,
                                      const proto::CheckNodeRequest*,
                                      proto::CheckNodeReply* reply) override {
    auto* reactor = ctx->DefaultReactor();
    absl::MutexLock lock(&mu_);
    ++checks_;
    if (frozen_) {
      held_.push_back(reactor);
      return reactor;
    }
    const absl::Duration left = absl::FromChrono(fence_at_ - Clock::now());
    reply->set_serve_for_ms(fenced_ ? 0
                                    : absl::ToInt64Milliseconds(WorkerServeFor(left, kFenceAfter)));
    reactor->Finish(grpc::Status::OK);
    return reactor;
  }

  void MoveFence(Clock::time_point fence_at) {
    absl::MutexLock lock(&mu_);
    fence_at_ = fence_at;
  }
  void Fence() {
    absl::MutexLock lock(&mu_);
    fenced_ = true;
  }
  void Freeze() {
    absl::MutexLock lock(&mu_);
    frozen_ = true;
  }
  // Ends the checks held while frozen (their worker has given up on them already).
  void Thaw() {
    std::vector<grpc::ServerUnaryReactor*> held;
    {
      absl::MutexLock lock(&mu_);
      frozen_ = false;
      held.swap(held_);
    }
    for (auto* reactor : held) reactor->Finish(grpc::Status::CANCELLED);
  }
  int checks() const {
    absl::MutexLock lock(&mu_);
    return checks_;
  }

 private:
  mutable absl::Mutex mu_;
  Clock::time_point fence_at_ ABSL_GUARDED_BY(mu_);
  bool fenced_ ABSL_GUARDED_BY(mu_) = false;
  bool frozen_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<grpc::ServerUnaryReactor*> held_ ABSL_GUARDED_BY(mu_);
  int checks_ ABSL_GUARDED_BY(mu_) = 0;
};

class RayletWatchTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    grpc_init();         // as in call_reactor_test.cc
    PinCallbackQueue();  // as every Weft process does (common/rpc.h)
  }

  // A node registered at `start_` whose own fence comes `node_fence` later; the worker's
  // watch starts from the registration's answer, as WorkerProcess starts it.
  void StartWatch(milliseconds node_fence) {
    start_ = Clock::now();
    node_ = std::make_unique<StandInNode>(start_ + node_fence);
    grpc::ServerBuilder builder;
    int port = 0;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
    builder.RegisterService(node_.get());
    server_ = builder.BuildAndStart();
    ASSERT_NE(port, 0);
    watch_ = std::make_unique<RayletWatch>(
        io_, MakeChannel("127.0.0.1:" + std::to_string(port), "token"), "worker-1", kFenceAfter,
        [this](const std::string& why) {
          if (!why_.empty()) return;
          why_ = why;
          fenced_.set_value(Clock::now());
          io_.stop();  // a fenced worker ends at once
        });
    watch_->Start(start_, WorkerServeFor(absl::FromChrono(milliseconds(node_fence)), kFenceAfter));
    work_ = std::thread([this] { io_.run(); });
  }

  void TearDown() override {
    io_.stop();
    if (work_.joinable()) work_.join();
    watch_.reset();
    if (node_) node_->Thaw();
    if (server_) server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
  }

  // When the worker fenced itself, or nothing if it still serves at `until` after the start.
  std::optional<Clock::time_point> FencedBy(milliseconds until) {
    auto fenced = fenced_.get_future();
    if (fenced.wait_until(start_ + until) != std::future_status::ready) return std::nullopt;
    return fenced.get();
  }

  asio::io_context io_;
  Clock::time_point start_;
  std::unique_ptr<StandInNode> node_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<RayletWatch> watch_;
  std::promise<Clock::time_point> fenced_;
  std::string why_;
  std::thread work_;
};

// The multi-host test's 1 s partition: TCP delivered the heartbeat acknowledgement just
// before the node's own fence time, the node carried on, and its actor's worker, told to stop
// at that very moment and asking again only every 280 ms, stopped on its own.
TEST_F(RayletWatchTest, AWorkerServesOnWhenItsNodesDeadlineMovesOnAtTheLastMoment) {
  StartWatch(milliseconds(2000));
  std::this_thread::sleep_until(start_ + milliseconds(1900));  // the late acknowledgement
  node_->MoveFence(start_ + milliseconds(20000));
  const auto fenced = FencedBy(milliseconds(4500));
  EXPECT_FALSE(fenced) << "the worker stopped "
                       << std::chrono::duration_cast<milliseconds>(*fenced - start_).count()
                       << " ms after its node registered, though its node carried on: " << why_;
}

// A raylet that stops answering (SIGSTOP) cannot stop its workers: each stops itself after
// its node's own fence time would have come, and before the head's verdict (the margin
// later), when the head may place its actors elsewhere.
TEST_F(RayletWatchTest, AWorkerWhoseRayletStopsAnsweringStopsBeforeTheHeadsVerdict) {
  StartWatch(milliseconds(2000));
  node_->Freeze();
  const auto fenced = FencedBy(milliseconds(2000) + kMargin + milliseconds(2000));
  ASSERT_TRUE(fenced) << "the worker of a raylet that stopped answering kept serving";
  const auto at = std::chrono::duration_cast<milliseconds>(*fenced - start_);
  EXPECT_GE(at, milliseconds(2000)) << "the worker stopped before its node would have";
  EXPECT_LT(at, milliseconds(2000) + kMargin) << "the worker served past the head's verdict";
  EXPECT_NE(why_.find("stopped answering"), std::string::npos) << why_;
}

// A node that fenced itself answers 0: its workers stop at their next check, however long
// their last answer let them serve.
TEST_F(RayletWatchTest, AWorkerStopsAtItsFirstCheckAfterItsNodeFenced) {
  StartWatch(milliseconds(20000));
  const int checks = node_->checks();
  node_->Fence();
  const auto fenced = FencedBy(milliseconds(5000));
  ASSERT_TRUE(fenced) << "the worker of a fenced node kept serving";
  EXPECT_GT(node_->checks(), checks);
  EXPECT_NE(why_.find("fenced itself"), std::string::npos) << why_;
}

}  // namespace
}  // namespace weft::worker
