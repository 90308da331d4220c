// A caller that keeps sending calls on its Calls stream but reads no results (its receive
// window is full, the worker's write never completes) must not make the worker queue results
// without bound: the stream stops reading calls once kQueuedResultBudget bytes of results wait,
// reads again as its caller reads them, and frees them when the caller goes.
//
// The worker's end of the stream (CallReactor) runs behind a real gRPC server on 127.0.0.1; a
// raw gRPC client is the caller. The actor is a stand-in whose method returns 1 MiB inline.

#include "worker/call_reactor.h"

#include <grpc/grpc.h>
#include <gtest/gtest.h>
#include <asio/post.hpp>
#include <asio/thread_pool.hpp>

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "common/rpc.h"

namespace weft::worker {
namespace {

using std::chrono::seconds;

constexpr size_t kValueBytes = 1 << 20;
constexpr int kCalls = 2000;  // 2 GiB of results
// What a stream whose caller reads nothing may hold, and the calls it may run: the budget's
// worth queued, the result that crossed it, the write in flight and the few results that the
// sockets and the caller's receive window took before the writes stopped completing (20 calls
// and 17 to 19 MiB held here).
constexpr int64_t kMostHeldUnread = kQueuedResultBudget + 8 * kValueBytes;
constexpr int64_t kMostRunUnread = kMostHeldUnread / kValueBytes;

// An actor whose method returns a 1 MiB value, answered at once on the dispatching thread,
// or in order on a thread of its own (as an actor's executor would). Past kMostRunUnread calls
// while the caller reads nothing, the answers are a byte: a worker without backpressure fails
// the test without holding gigabytes.
class LargeAnswers {
 public:
  void Dispatch(proto::Call call, CallDispatcher::Reply reply) {
    if (!own_thread_) return Answer(call.call_id(), reply);
    asio::post(*own_thread_,
               [this, id = call.call_id(), reply = std::move(reply)] { Answer(id, reply); });
  }
  int64_t run() const { return run_.load(); }
  void CallerReads() { caller_reads_ = true; }
  void AnswerOn(asio::thread_pool& own_thread) { own_thread_ = &own_thread; }

 private:
  void Answer(uint64_t call_id, const CallDispatcher::Reply& reply) {
    const int64_t run = ++run_;
    const bool over = !caller_reads_.load() && run > kMostRunUnread;
    proto::CallResult result;
    result.set_call_id(call_id);
    result.set_value(std::string(over ? 1 : kValueBytes, 'v'));
    reply(std::move(result));
  }

  std::atomic<int64_t> run_{0};
  std::atomic<bool> caller_reads_{false};
  asio::thread_pool* own_thread_ = nullptr;
};

class CallsOnly final : public proto::Worker::CallbackService {
 public:
  explicit CallsOnly(LargeAnswers& actor) : actor_(actor) {}
  grpc::ServerBidiReactor<proto::CallBatch, proto::ResultBatch>* Calls(
      grpc::CallbackServerContext*) override {
    return new CallReactor(
        [this](proto::Call call, CallDispatcher::Reply reply) {
          actor_.Dispatch(std::move(call), std::move(reply));
        },
        nullptr, nullptr, queued_budget);
  }

  size_t queued_budget = kQueuedResultBudget;

 private:
  LargeAnswers& actor_;
};

// Polls `done` until it holds or `timeout` passes.
template <typename Done>
bool Eventually(Done done, seconds timeout = seconds(5)) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return true;
}

class CallReactorTest : public ::testing::Test {
 protected:
  // Keeps gRPC initialized for the whole run. Otherwise each test's last gRPC object takes the
  // library down, and in gRPC 1.51 that final grpc_shutdown() can block for ~10 s (as in
  // bench/floor/main.cc).
  static void SetUpTestSuite() { grpc_init(); }

  void SetUp() override {
    grpc::ServerBuilder builder;
    ConfigureServer(builder);
    int port = 0;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
    builder.RegisterService(&service_);
    server_ = builder.BuildAndStart();
    ASSERT_NE(port, 0);
    grpc::ChannelArguments args;
    args.SetMaxReceiveMessageSize(MaxMessageBytes());
    stub_ = proto::Worker::NewStub(grpc::CreateCustomChannel(
        "127.0.0.1:" + std::to_string(port), grpc::InsecureChannelCredentials(), args));
  }

  void TearDown() override {
    context_.TryCancel();
    if (writer_.joinable()) writer_.join();
    server_->Shutdown(std::chrono::system_clock::now() + seconds(5));
  }

  void Open(int calls) {
    calls_ = calls;
    SetTimeout(context_, seconds(60));
    stream_ = stub_->Calls(&context_);
  }

  // Sends call `id` in a message of its own, as a caller sends its calls as they come.
  bool Send(int id) {
    proto::CallBatch batch;
    proto::Call* call = batch.add_calls();
    call->set_call_id(id);
    call->set_method("Large");
    return stream_->Write(batch);
  }

  // Opens the stream and sends kCalls calls from a thread of its own, then half-closes.
  void StartCalling() {
    Open(kCalls);
    writer_ = std::thread([this] {
      for (int id = 1; id <= calls_; ++id) {
        if (!Send(id)) return;
      }
      stream_->WritesDone();
    });
  }

  // True once the worker's stream stopped reading calls; false when it ran more than a paused
  // stream may first, or 5 s passed.
  bool Paused() {
    return Eventually([&] {
             return CallReactor::PausedStreams() == 1 || actor_.run() > kMostRunUnread;
           }) &&
           actor_.run() <= kMostRunUnread;
  }

  // Reads until every call is answered, checking that they are, in order, with their whole
  // value, and that the stream then ends well and holds nothing. `answered_one` runs after each.
  void ExpectEveryAnswer(const std::function<void()>& answered_one = [] {}) {
    proto::ResultBatch batch;
    int answered = 0;
    while (answered < calls_ && stream_->Read(&batch)) {
      for (const auto& result : batch.results()) {
        ASSERT_EQ(result.call_id(), static_cast<uint64_t>(++answered));
        ASSERT_EQ(result.value().size(), kValueBytes) << "call " << answered;
        answered_one();
      }
    }
    EXPECT_EQ(answered, calls_);
    if (writer_.joinable()) writer_.join();
    const grpc::Status status = stream_->Finish();
    EXPECT_TRUE(status.ok()) << status.error_message();
    ExpectNothingHeld();
  }

  static void ExpectNothingHeld() {
    EXPECT_TRUE(Eventually([] {
      return CallReactor::HeldResultBytes() == 0 && CallReactor::PausedStreams() == 0;
    })) << CallReactor::HeldResultBytes()
        << " bytes of results still held";
  }

  LargeAnswers actor_;
  asio::thread_pool answers_thread_{1};  // joined before the actor goes
  CallsOnly service_{actor_};
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<proto::Worker::Stub> stub_;
  grpc::ClientContext context_;
  std::unique_ptr<grpc::ClientReaderWriter<proto::CallBatch, proto::ResultBatch>> stream_;
  std::thread writer_;
  int calls_ = 0;
};

TEST_F(CallReactorTest, ACallerThatReadsNoResultsStopsTheReadingOfItsCallsUntilItReads) {
  StartCalling();
  ASSERT_TRUE(Paused()) << "the worker ran " << actor_.run() << " calls for a caller reading none ("
                        << CallReactor::HeldResultBytes() << " bytes of results held)";
  EXPECT_LE(CallReactor::HeldResultBytes(), kMostHeldUnread);

  // Reading resumes: every call is answered (the last ones after the caller half-closed).
  actor_.CallerReads();
  ExpectEveryAnswer();
}

// A caller that keeps 32 calls in flight (sends one more as each is answered), to an actor that
// answers on a thread of its own, and a stream whose budget is one result: it pauses whenever
// two results wait as a call arrives, resumes as results arrive from the other thread, and
// loses none.
TEST_F(CallReactorTest, ACallerWithCallsInFlightGetsEveryAnswerThroughPausesAndResumes) {
  service_.queued_budget = kValueBytes;
  actor_.AnswerOn(answers_thread_);
  actor_.CallerReads();
  Open(500);
  int sent = 0;
  while (sent < 32) ASSERT_TRUE(Send(++sent));
  ExpectEveryAnswer([&] {
    if (sent < calls_) {
      ASSERT_TRUE(Send(++sent));
      if (sent == calls_) stream_->WritesDone();
    }
  });
}

TEST_F(CallReactorTest, ACallerThatCancelsAPausedStreamFreesItsResults) {
  StartCalling();
  ASSERT_TRUE(Paused()) << "the worker ran " << actor_.run() << " calls for a caller reading none ("
                        << CallReactor::HeldResultBytes() << " bytes of results held)";
  const int64_t run = actor_.run();
  context_.TryCancel();
  writer_.join();
  EXPECT_EQ(stream_->Finish().error_code(), grpc::StatusCode::CANCELLED);
  ExpectNothingHeld();
  EXPECT_EQ(actor_.run(), run) << "calls of a cancelled stream ran";
}

}  // namespace
}  // namespace weft::worker
