// The head's actor directory service, served in-process on 127.0.0.1: a WaitActor caller that
// goes away (its deadline, a closed connection) leaves no wait parked at the head, and
// ListActors answers a page at a time.

#include "raylet/head/actor_directory_service.h"

#include <grpcpp/server_builder.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "common/rpc.h"
#include "common/transport_security.h"

namespace weft::head {
namespace {

using std::chrono::milliseconds;
using std::chrono::steady_clock;

// True once `condition` holds, false if it still does not after `limit`.
bool Eventually(const std::function<bool()>& condition, milliseconds limit) {
  const auto deadline = steady_clock::now() + limit;
  while (!condition()) {
    if (steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(milliseconds(5));
  }
  return true;
}

class ActorDirectoryServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    grpc::ServerBuilder builder;
    int port = 0;
    builder.AddListeningPort("127.0.0.1:0", CurrentServerCredentials(), &port);
    builder.RegisterService(&service_);
    server_ = builder.BuildAndStart();
    ASSERT_TRUE(server_);
    channel_ = MakeChannel("127.0.0.1:" + std::to_string(port), kToken);
    stub_ = proto::ActorDirectory::NewStub(channel_);
  }
  void TearDown() override {
    manager_.AnswerWaits();  // as the head does before its server stops
    server_->Shutdown(std::chrono::system_clock::now());
  }

  // A PENDING actor, registered without being placed (no node could take it here).
  std::string PendingActor() {
    proto::ActorInfo info;
    info.set_class_name("Counter");
    auto actor = actors_.Register(info);
    EXPECT_TRUE(actor.ok()) << actor.status();
    return actor.ok() ? actor->actor_id() : "";
  }

  struct Answer {
    grpc::Status status;
    proto::WaitActorReply reply;
  };

  // Opens `n` WaitActor polls at once, each with `deadline`, and returns their answers once
  // all are in.
  std::vector<Answer> Wait(const std::string& actor_id, int n, int wait_ms, milliseconds deadline) {
    struct Call {
      grpc::ClientContext context;
      proto::WaitActorRequest request;
      Answer answer;
    };
    std::vector<std::unique_ptr<Call>> calls;
    std::mutex mu;
    std::condition_variable all_in;
    int pending = n;
    for (int i = 0; i < n; ++i) {
      auto& call = *calls.emplace_back(std::make_unique<Call>());
      SetTimeout(call.context, deadline);
      call.request.set_actor_id(actor_id);
      call.request.set_known_state(proto::ACTOR_PENDING);
      call.request.set_wait_ms(wait_ms);
      stub_->async()->WaitActor(&call.context, &call.request, &call.answer.reply,
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

  static constexpr char kToken[] = "actor-directory-service-test-token";
  TokenAuth auth_{kToken};
  ActorDirectory actors_;
  NodeDirectory nodes_{NodeDirectory::Options{}};
  SchedulerService scheduler_{nodes_, auth_, kToken};
  WorkerStubs workers_{kToken};
  ActorManager manager_{actors_, nodes_, scheduler_, workers_,
                        [](const std::string&) { return false; }};
  ActorDirectoryService service_{actors_, manager_, auth_};
  std::unique_ptr<grpc::Server> server_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<proto::ActorDirectory::Stub> stub_;
};

// Whether the actor dies before the wait arrives or while it is parked, the wait answers DEAD.
TEST_F(ActorDirectoryServiceTest, AWaitIsAnsweredWhenTheActorChanges) {
  const std::string id = PendingActor();
  std::thread kill([&] { EXPECT_TRUE(manager_.Kill(id, "killed by the test").ok()); });
  const auto answers = Wait(id, 1, 5000, milliseconds(3000));
  kill.join();
  ASSERT_TRUE(answers[0].status.ok()) << answers[0].status.error_message();
  EXPECT_EQ(answers[0].reply.actor().state(), proto::ACTOR_DEAD);
  EXPECT_EQ(manager_.parked_waits(), 0u);
}

// Callers that give up (here their deadline; a closed connection is the same cancel) take
// their waits out at once, not when the actor changes or their wait_ms runs out.
TEST_F(ActorDirectoryServiceTest, WaitsWhoseCallersGaveUpAreDropped) {
  const std::string id = PendingActor();
  const auto answers = Wait(id, 50, 30000, milliseconds(100));
  for (const auto& answer : answers) {
    EXPECT_EQ(answer.status.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED)
        << answer.status.error_message();
  }
  EXPECT_TRUE(Eventually([&] { return manager_.parked_waits() == 0; }, milliseconds(2000)))
      << manager_.parked_waits() << " waits of callers that gave up are still parked";
}

// A wait of 0 or less is a look at the actor as it is, answered at once.
// ListActors answers a page at a time, in id order: 25 actors in pages of 10 come as 10, 10
// and 5, each once; a page size of 0 is the default page (all 25 here), and one over the
// bound is the bound.
TEST_F(ActorDirectoryServiceTest, ActorsAreListedAPageAtATime) {
  std::set<std::string> made;
  for (int i = 0; i < 25; ++i) made.insert(PendingActor());
  auto list = [&](int page_size, const std::string& token) {
    grpc::ClientContext context;
    SetTimeout(context, milliseconds(3000));
    proto::ListActorsRequest request;
    request.set_page_size(page_size);
    request.set_page_token(token);
    proto::ListActorsReply reply;
    EXPECT_TRUE(stub_->ListActors(&context, request, &reply).ok());
    return reply;
  };
  std::vector<std::string> listed;
  std::vector<int> pages;
  std::string token;
  do {
    const auto reply = list(10, token);
    pages.push_back(reply.actors_size());
    for (const auto& actor : reply.actors()) listed.push_back(actor.actor_id());
    token = reply.next_page_token();
  } while (!token.empty() && pages.size() < 10);
  EXPECT_EQ(pages, (std::vector<int>{10, 10, 5}));
  EXPECT_TRUE(std::is_sorted(listed.begin(), listed.end()));
  EXPECT_EQ(std::set<std::string>(listed.begin(), listed.end()), made);
  EXPECT_EQ(listed.size(), made.size());

  const auto whole = list(0, "");
  EXPECT_EQ(whole.actors_size(), 25);
  EXPECT_TRUE(whole.next_page_token().empty());
  EXPECT_EQ(list(1'000'000, "").actors_size(), 25);
  const auto past = list(10, listed.back());
  EXPECT_EQ(past.actors_size(), 0);
  EXPECT_TRUE(past.next_page_token().empty());
}

TEST_F(ActorDirectoryServiceTest, AWaitOfZeroOrLessIsAnsweredAtOnce) {
  const std::string id = PendingActor();
  for (int wait_ms : {0, -1}) {
    const auto answers = Wait(id, 1, wait_ms, milliseconds(3000));
    ASSERT_TRUE(answers[0].status.ok()) << answers[0].status.error_message();
    EXPECT_EQ(answers[0].reply.actor().state(), proto::ACTOR_PENDING);
  }
  EXPECT_EQ(manager_.parked_waits(), 0u);
}

}  // namespace
}  // namespace weft::head
