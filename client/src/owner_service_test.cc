// An owner's WaitObject long polls, served in-process on 127.0.0.1: a borrower that gives up
// (its deadline, its poll running out) leaves nothing behind at the owner, and how long one
// poll may last is the owner's to bound.

#include "client/src/owner_service.h"

#include <grpcpp/server_builder.h>
#include <gtest/gtest.h>

#include <chrono>
#include <climits>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "common/rpc.h"
#include "common/transport_security.h"

namespace weft::internal {
namespace {

using std::chrono::milliseconds;
using std::chrono::steady_clock;

constexpr milliseconds kTestMaxPoll{300};

// True once `condition` holds, false if it still does not after `limit`.
bool Eventually(const std::function<bool()>& condition, milliseconds limit) {
  const auto deadline = steady_clock::now() + limit;
  while (!condition()) {
    if (steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(milliseconds(5));
  }
  return true;
}

class OwnerServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    grpc::ServerBuilder builder;
    int port = 0;
    builder.AddListeningPort("127.0.0.1:0", CurrentServerCredentials(), &port);
    builder.RegisterService(&service_);
    server_ = builder.BuildAndStart();
    ASSERT_TRUE(server_);
    channel_ = MakeChannel("127.0.0.1:" + std::to_string(port), kToken);
    stub_ = proto::Owner::NewStub(channel_);
  }
  void TearDown() override { server_->Shutdown(std::chrono::system_clock::now()); }

  struct Answer {
    grpc::Status status;
    proto::CallResult result;
  };

  // Opens `n` WaitObject polls for `id` at once, each with `deadline`, and returns their
  // answers once all are in.
  std::vector<Answer> Poll(const std::string& id, int n, int poll_ms, milliseconds deadline) {
    struct Call {
      grpc::ClientContext context;
      proto::WaitObjectRequest request;
      Answer answer;
    };
    std::vector<std::unique_ptr<Call>> calls;
    std::mutex mu;
    std::condition_variable all_in;
    int pending = n;
    for (int i = 0; i < n; ++i) {
      auto& call = *calls.emplace_back(std::make_unique<Call>());
      SetTimeout(call.context, deadline);
      call.request.set_object_id(id);
      call.request.set_poll_ms(poll_ms);
      stub_->async()->WaitObject(&call.context, &call.request, &call.answer.result,
                                 [&, &call = call](grpc::Status status) {
                                   std::lock_guard lock(mu);
                                   call.answer.status = std::move(status);
                                   if (--pending == 0) all_in.notify_all();
                                 });
    }
    std::unique_lock lock(mu);
    all_in.wait(lock, [&] { return pending == 0; });
    std::vector<Answer> answers;
    for (auto& call : calls) answers.push_back(std::move(call->answer));
    return answers;
  }

  static constexpr char kToken[] = "owner-service-test-token";
  TokenAuth auth_{kToken};
  ObjectTable objects_{ObjectTable::Io{}};
  SharedFolder folder_{"", "", ""};
  OwnerService service_{auth_, objects_, folder_, kTestMaxPoll};
  std::unique_ptr<grpc::Server> server_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<proto::Owner::Stub> stub_;
};

// Whether the value is set before the poll arrives or while it waits, it is the answer.
TEST_F(OwnerServiceTest, AWaitIsAnsweredWithTheValueOnceItIsSet) {
  const std::string id = ObjectTable::NewId();
  objects_.AddPending(id, /*held=*/true);
  std::thread set([&] { objects_.SetValue(id, std::string("forty-two")); });
  const auto answers = Poll(id, 1, 5000, milliseconds(3000));
  set.join();
  ASSERT_TRUE(answers[0].status.ok()) << answers[0].status.error_message();
  EXPECT_EQ(answers[0].result.value(), "forty-two");
}

// A borrower whose WaitObject call reaches its deadline (or goes away) while the object is
// pending: the owner drops the wait at once, not when the object resolves, possibly hours
// later. Seen from outside: an object nobody holds any more leaves the owner's table.
TEST_F(OwnerServiceTest, WaitsWhoseCallersGaveUpLetTheObjectGo) {
  const std::string id = ObjectTable::NewId();
  objects_.AddPending(id, /*held=*/true);
  const auto answers = Poll(id, 50, 30000, milliseconds(100));
  for (const auto& answer : answers) {
    EXPECT_EQ(answer.status.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED)
        << answer.status.error_message();
  }
  objects_.Release(id);  // its last reference: nothing here needs it any more
  EXPECT_TRUE(Eventually([&] { return objects_.size() == 0; }, milliseconds(2000)))
      << "the owner still keeps the object for the 50 borrowers that gave up";
}

// The same for polls answered "not yet" when their poll_ms ran out: each one the borrower
// asks again would otherwise add a wait that stays until the object resolves.
TEST_F(OwnerServiceTest, PollsThatRanOutLetTheObjectGo) {
  const std::string id = ObjectTable::NewId();
  objects_.AddPending(id, /*held=*/true);
  for (int round = 0; round < 5; ++round) {
    for (const auto& answer : Poll(id, 10, 20, milliseconds(3000))) {
      ASSERT_TRUE(answer.status.ok()) << answer.status.error_message();
      EXPECT_EQ(answer.result.outcome_case(), proto::CallResult::OUTCOME_NOT_SET);
    }
  }
  objects_.Release(id);
  EXPECT_TRUE(Eventually([&] { return objects_.size() == 0; }, milliseconds(2000)))
      << "the owner still keeps the object for 50 polls that were answered";
}

// An owner watches each borrower with WaitReleased, and asks again when a call fails (a
// reconnect, a stall). Calls whose callers went away leave nothing behind at the borrower:
// here 50 that ran out of time, then one that waits, and the release answers that one.
TEST_F(OwnerServiceTest, ReleaseWatchesWhoseCallersGaveUpAreDropped) {
  const std::string id = ObjectTable::NewId();
  objects_.AddPending(id, /*held=*/true);
  std::vector<std::unique_ptr<grpc::ClientContext>> contexts;
  std::vector<grpc::Status> statuses(51);
  std::mutex mu;
  std::condition_variable answered;
  int pending = 51;
  proto::WaitReleasedRequest request;
  request.set_object_id(id);
  std::vector<proto::WaitReleasedReply> replies(51);
  auto watch = [&](int i, milliseconds deadline) {
    auto& context = *contexts.emplace_back(std::make_unique<grpc::ClientContext>());
    SetTimeout(context, deadline);
    stub_->async()->WaitReleased(&context, &request, &replies[i], [&, i](grpc::Status status) {
      std::lock_guard lock(mu);
      statuses[i] = std::move(status);
      --pending;
      answered.notify_all();
    });
  };
  for (int i = 0; i < 50; ++i) watch(i, milliseconds(100));
  {
    std::unique_lock lock(mu);
    ASSERT_TRUE(answered.wait_for(lock, std::chrono::seconds(10), [&] { return pending == 1; }));
  }
  for (int i = 0; i < 50; ++i) {
    EXPECT_EQ(statuses[i].error_code(), grpc::StatusCode::DEADLINE_EXCEEDED)
        << statuses[i].error_message();
  }
  watch(50, milliseconds(10000));
  EXPECT_TRUE(Eventually([&] { return objects_.ReleaseWaits(id) == 1; }, milliseconds(2000)))
      << objects_.ReleaseWaits(id) << " release watches kept for 1 caller still waiting";
  objects_.Release(id);
  std::unique_lock lock(mu);
  ASSERT_TRUE(answered.wait_for(lock, std::chrono::seconds(10), [&] { return pending == 0; }));
  EXPECT_TRUE(statuses[50].ok()) << statuses[50].error_message();
}

// A poll of 0 (once "as long as the call lasts"), a negative one or one longer than the
// owner's bound is answered "not yet" after the bound: the borrower asks again, and no call
// parks at the owner for longer than that.
TEST_F(OwnerServiceTest, APollBeyondTheBoundIsAnsweredAfterTheBound) {
  const std::string id = ObjectTable::NewId();
  objects_.AddPending(id, /*held=*/true);
  for (int poll_ms : {0, -5, INT_MAX}) {
    const auto start = steady_clock::now();
    const auto answers = Poll(id, 1, poll_ms, milliseconds(3000));
    const auto took = steady_clock::now() - start;
    ASSERT_TRUE(answers[0].status.ok())
        << "poll_ms=" << poll_ms << ": " << answers[0].status.error_message();
    EXPECT_EQ(answers[0].result.outcome_case(), proto::CallResult::OUTCOME_NOT_SET);
    EXPECT_GE(took, kTestMaxPoll - milliseconds(50)) << "poll_ms=" << poll_ms;
    EXPECT_LT(took, kTestMaxPoll + milliseconds(1500)) << "poll_ms=" << poll_ms;
  }
}

}  // namespace
}  // namespace weft::internal
