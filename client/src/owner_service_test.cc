// An owner's watches of objects and a borrower's watches of releases, served in-process on
// 127.0.0.1 and asked through the client's own WatchStreams: many watches share one stream, a
// borrower that gives up (its deadline, its poll running out, its stream going away) leaves
// nothing behind at the owner, and how long one poll may last is the owner's to bound.

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

#include "common/watch_streams.h"
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
    address_ = "127.0.0.1:" + std::to_string(port);
    channel_ = MakeChannel(address_, kToken);
    stub_ = proto::Owner::NewStub(channel_);
  }
  void TearDown() override {
    timers_.Stop();
    in_flight_.CancelAllAndWait();
    server_->Shutdown(std::chrono::system_clock::now());
  }

  // Opens `n` watches of `id` at once (on one stream), each with `deadline` (none: no bound),
  // and returns their answers once all are in; `opened` runs once all are sent.
  std::vector<absl::StatusOr<proto::CallResult>> Poll(
      const std::string& id, int n, int poll_ms, std::optional<milliseconds> deadline,
      const std::function<void()>& opened = nullptr) {
    std::vector<absl::StatusOr<proto::CallResult>> answers(n);
    std::mutex mu;
    std::condition_variable all_in;
    int pending = n;
    for (int i = 0; i < n; ++i) {
      proto::WaitObjectRequest request;
      request.set_object_id(id);
      request.set_poll_ms(poll_ms);
      std::optional<steady_clock::time_point> at;
      if (deadline) at = steady_clock::now() + *deadline;
      EXPECT_TRUE(object_watches_.Watch(address_, request, at,
                                        [&, i](absl::StatusOr<proto::CallResult> answer) {
                                          std::lock_guard lock(mu);
                                          answers[i] = std::move(answer);
                                          if (--pending == 0) all_in.notify_all();
                                        }));
    }
    if (opened) opened();
    std::unique_lock lock(mu);
    EXPECT_TRUE(all_in.wait_for(lock, std::chrono::seconds(30), [&] { return pending == 0; }))
        << pending << " of " << n << " watches unanswered after 30 s";
    return answers;
  }

  static constexpr char kToken[] = "owner-service-test-token";
  TokenAuth auth_{kToken};
  ObjectTable objects_{ObjectTable::Io{}};
  SharedFolder folder_{"", "", ""};
  InFlight in_flight_;
  Timers timers_;
  OwnerService service_{auth_, objects_, folder_, timers_, kTestMaxPoll};
  std::unique_ptr<grpc::Server> server_;
  std::string address_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<proto::Owner::Stub> stub_;
  using ObjectWatches = WatchStreams<proto::ObjectWatches, proto::ObjectWatchAnswers>;
  using ReleaseWatches = WatchStreams<proto::ReleaseWatches, proto::ReleaseWatchAnswers>;
  ObjectWatches object_watches_{
      [this](const std::string&, grpc::ClientContext* context, ObjectWatches::Reactor* reactor) {
        stub_->async()->WatchObjects(context, reactor);
      },
      in_flight_, timers_, false};
  ReleaseWatches release_watches_{
      [this](const std::string&, grpc::ClientContext* context, ReleaseWatches::Reactor* reactor) {
        stub_->async()->WatchReleases(context, reactor);
      },
      in_flight_, timers_, false};
};

// Whether the value is set before the watch arrives or while it waits, it is the answer.
TEST_F(OwnerServiceTest, AWatchIsAnsweredWithTheValueOnceItIsSet) {
  const std::string id = ObjectTable::NewId();
  objects_.AddPending(id, /*held=*/true);
  std::thread set([&] { objects_.SetValue(id, std::string("forty-two")); });
  const auto answers = Poll(id, 1, 5000, milliseconds(3000));
  set.join();
  ASSERT_TRUE(answers[0].ok()) << answers[0].status();
  EXPECT_EQ(answers[0]->value(), "forty-two");
}

// A thousand watches of one borrower go on one stream (not a stream each, which a cap on
// streams per connection would hold back), and each is answered once the value is set.
TEST_F(OwnerServiceTest, ManyWatchesShareOneStream) {
  const std::string id = ObjectTable::NewId();
  objects_.AddPending(id, /*held=*/true);
  int streams = -1;
  const auto answers = Poll(id, 1000, 30000, std::nullopt, [&] {
    streams = object_watches_.open_streams();
    objects_.SetValue(id, std::string("forty-two"));
  });
  EXPECT_EQ(streams, 1);
  for (const auto& answer : answers) {
    ASSERT_TRUE(answer.ok()) << answer.status();
    EXPECT_EQ(answer->value(), "forty-two");
  }
}

// A watch of an object the owner does not know fails alone, with NOT_FOUND; the stream goes on.
TEST_F(OwnerServiceTest, AWatchOfAnUnknownObjectIsNotFound) {
  const std::string id = ObjectTable::NewId();
  objects_.AddPending(id, /*held=*/true);
  int unknown_answered = 0;
  const auto answers = Poll(id, 1, 5000, milliseconds(3000), [&] {
    const auto unknown = Poll("no-such-object", 1, 5000, milliseconds(3000));
    EXPECT_EQ(unknown[0].status().code(), absl::StatusCode::kNotFound) << unknown[0].status();
    ++unknown_answered;
    objects_.SetValue(id, std::string("still served"));
  });
  EXPECT_EQ(unknown_answered, 1);
  ASSERT_TRUE(answers[0].ok()) << answers[0].status();
  EXPECT_EQ(answers[0]->value(), "still served");
}

// A watch's own answer (NOT_FOUND here) is an answer about it; its stream ending is not, and
// says so (IsStreamFailure): its caller may ask again.
TEST_F(OwnerServiceTest, AStreamThatEndsFailsItsWatchesAsAStreamFailure) {
  const auto unknown = Poll("no-such-object", 1, 5000, milliseconds(3000));
  EXPECT_EQ(unknown[0].status().code(), absl::StatusCode::kNotFound) << unknown[0].status();
  EXPECT_FALSE(IsStreamFailure(unknown[0].status()));
  const std::string id = ObjectTable::NewId();
  objects_.AddPending(id, /*held=*/true);
  const auto parked = Poll(id, 1, 30000, std::nullopt,
                           [&] { server_->Shutdown(std::chrono::system_clock::now()); });
  ASSERT_FALSE(parked[0].ok());
  EXPECT_TRUE(IsStreamFailure(parked[0].status())) << parked[0].status();
}

// A borrower whose watch reaches its deadline while the object is pending: the owner drops the
// wait at once (the borrower takes the watch out), not when the object resolves, possibly hours
// later. Seen from outside: an object nobody holds any more leaves the owner's table.
TEST_F(OwnerServiceTest, WatchesWhoseCallersGaveUpLetTheObjectGo) {
  const std::string id = ObjectTable::NewId();
  objects_.AddPending(id, /*held=*/true);
  for (const auto& answer : Poll(id, 50, 30000, milliseconds(100))) {
    EXPECT_EQ(answer.status().code(), absl::StatusCode::kDeadlineExceeded) << answer.status();
  }
  objects_.Release(id);  // its last reference: nothing here needs it any more
  EXPECT_TRUE(Eventually([&] { return objects_.size() == 0; }, milliseconds(2000)))
      << "the owner still keeps the object for the 50 borrowers that gave up";
}

// The same for a borrower that goes away (its stream is cancelled) with its watches open.
TEST_F(OwnerServiceTest, ABorrowerThatGoesAwayLetsTheObjectGo) {
  const std::string id = ObjectTable::NewId();
  objects_.AddPending(id, /*held=*/true);
  const auto answers = Poll(id, 50, 30000, std::nullopt, [&] {
    ASSERT_TRUE(Eventually([&] { return objects_.ResolveWaits(id) == 50; }, milliseconds(3000)))
        << objects_.ResolveWaits(id) << " of 50 watches reached the owner";
    in_flight_.CancelAllAndWait();  // as the borrower's process does when it shuts down
  });
  for (const auto& answer : answers) {
    EXPECT_EQ(answer.status().code(), absl::StatusCode::kCancelled) << answer.status();
  }
  objects_.Release(id);
  EXPECT_TRUE(Eventually([&] { return objects_.size() == 0; }, milliseconds(2000)))
      << "the owner still keeps the object for a borrower that went away";
}

// The same for watches answered "not yet" when their poll_ms ran out: each one the borrower
// asks again would otherwise add a wait that stays until the object resolves.
TEST_F(OwnerServiceTest, PollsThatRanOutLetTheObjectGo) {
  const std::string id = ObjectTable::NewId();
  objects_.AddPending(id, /*held=*/true);
  for (int round = 0; round < 5; ++round) {
    for (const auto& answer : Poll(id, 10, 20, milliseconds(3000))) {
      ASSERT_TRUE(answer.ok()) << answer.status();
      EXPECT_EQ(answer->outcome_case(), proto::CallResult::OUTCOME_NOT_SET);
    }
  }
  objects_.Release(id);
  EXPECT_TRUE(Eventually([&] { return objects_.size() == 0; }, milliseconds(2000)))
      << "the owner still keeps the object for 50 polls that were answered";
}

// An owner watches each borrower's hold with a release watch, and asks again when one fails (a
// reconnect, a stall). Watches whose callers gave up leave nothing behind at the borrower: here
// 50 that ran out of time, then one that waits, and the release answers that one.
TEST_F(OwnerServiceTest, ReleaseWatchesWhoseCallersGaveUpAreDropped) {
  const std::string id = ObjectTable::NewId();
  objects_.AddPending(id, /*held=*/true);
  std::vector<absl::Status> statuses(51);
  std::mutex mu;
  std::condition_variable answered;
  int pending = 51;
  auto watch = [&](int i, milliseconds deadline) {
    proto::WaitReleasedRequest request;
    request.set_object_id(id);
    EXPECT_TRUE(release_watches_.Watch(address_, request, steady_clock::now() + deadline,
                                       [&, i](absl::StatusOr<proto::WaitReleasedReply> reply) {
                                         std::lock_guard lock(mu);
                                         statuses[i] = reply.status();
                                         --pending;
                                         answered.notify_all();
                                       }));
  };
  for (int i = 0; i < 50; ++i) watch(i, milliseconds(100));
  {
    std::unique_lock lock(mu);
    ASSERT_TRUE(answered.wait_for(lock, std::chrono::seconds(10), [&] { return pending == 1; }));
  }
  for (int i = 0; i < 50; ++i) {
    EXPECT_EQ(statuses[i].code(), absl::StatusCode::kDeadlineExceeded) << statuses[i];
  }
  watch(50, milliseconds(10000));
  EXPECT_TRUE(Eventually([&] { return objects_.ReleaseWaits(id) == 1; }, milliseconds(2000)))
      << objects_.ReleaseWaits(id) << " release watches kept for 1 caller still waiting";
  objects_.Release(id);
  std::unique_lock lock(mu);
  ASSERT_TRUE(answered.wait_for(lock, std::chrono::seconds(10), [&] { return pending == 0; }));
  EXPECT_TRUE(statuses[50].ok()) << statuses[50];
}

// A poll of 0 (once "as long as the call lasts"), a negative one or one longer than the
// owner's bound is answered "not yet" after the bound: the borrower asks again, and no watch
// parks at the owner for longer than that.
TEST_F(OwnerServiceTest, APollBeyondTheBoundIsAnsweredAfterTheBound) {
  const std::string id = ObjectTable::NewId();
  objects_.AddPending(id, /*held=*/true);
  for (int poll_ms : {0, -5, INT_MAX}) {
    const auto start = steady_clock::now();
    const auto answers = Poll(id, 1, poll_ms, milliseconds(3000));
    const auto took = steady_clock::now() - start;
    ASSERT_TRUE(answers[0].ok()) << "poll_ms=" << poll_ms << ": " << answers[0].status();
    EXPECT_EQ(answers[0]->outcome_case(), proto::CallResult::OUTCOME_NOT_SET);
    EXPECT_GE(took, kTestMaxPoll - milliseconds(50)) << "poll_ms=" << poll_ms;
    EXPECT_LT(took, kTestMaxPoll + milliseconds(1500)) << "poll_ms=" << poll_ms;
  }
}

}  // namespace
}  // namespace weft::internal
