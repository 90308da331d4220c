// The head's actor directory service, served in-process on 127.0.0.1: many actor watches share
// one stream, a watch taken out or a caller that goes away leaves no wait parked at the head,
// and ListActors answers a page at a time.

#include "raylet/head/actor_directory_service.h"

#include <grpcpp/server_builder.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
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
    ConfigureServer(builder);  // as the head's server is built: with its cap on streams
    int port = 0;
    builder.AddListeningPort("127.0.0.1:0", CurrentServerCredentials(), &port);
    builder.RegisterService(&service_);
    server_ = builder.BuildAndStart();
    ASSERT_TRUE(server_);
    server_address_ = "127.0.0.1:" + std::to_string(port);
    channel_ = MakeChannel(server_address_, kToken);
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

  using WatchStream = grpc::ClientReaderWriter<proto::ActorWatches, proto::ActorWatchAnswers>;

  // Opens a stream of watches (its context bounds it to 10 s).
  std::unique_ptr<WatchStream> OpenWatches(grpc::ClientContext& context) {
    SetTimeout(context, milliseconds(10000));
    return stub_->WatchActors(&context);
  }

  // Sends watches 1..n of the actor, in one message, each with `wait_ms`.
  static void SendWatches(WatchStream& stream, const std::string& actor_id, int n, int wait_ms) {
    proto::ActorWatches watches;
    for (int i = 1; i <= n; ++i) {
      proto::ActorWatch& watch = *watches.add_watches();
      watch.set_watch_id(i);
      watch.mutable_wait()->set_actor_id(actor_id);
      watch.mutable_wait()->set_known_state(proto::ACTOR_PENDING);
      watch.mutable_wait()->set_wait_ms(wait_ms);
    }
    EXPECT_TRUE(stream.Write(watches));
  }

  // Reads answers until there are `n` (or the stream ends), by watch id.
  static std::map<uint64_t, proto::ActorWatchAnswer> ReadAnswers(WatchStream& stream, int n) {
    std::map<uint64_t, proto::ActorWatchAnswer> answers;
    proto::ActorWatchAnswers batch;
    while (static_cast<int>(answers.size()) < n && stream.Read(&batch)) {
      for (auto& answer : *batch.mutable_answers()) {
        EXPECT_TRUE(answers.emplace(answer.watch_id(), std::move(answer)).second)
            << "watch " << answer.watch_id() << " answered twice";
      }
    }
    return answers;
  }

  // Sends `n` watches of a pending actor that stay parked (30 s), and waits until they are.
  void ParkWatches(WatchStream& stream, int n) {
    SendWatches(stream, PendingActor(), n, 30000);
    ASSERT_TRUE(Eventually([&] { return manager_.parked_waits() == static_cast<size_t>(n); },
                           milliseconds(3000)))
        << manager_.parked_waits() << " of " << n << " watches parked";
  }

  // Watches the actor `n` times on one stream, each with `wait_ms`, and returns the answers
  // once all are in; the stream then ends OK.
  std::map<uint64_t, proto::ActorWatchAnswer> Watch(const std::string& actor_id, int n,
                                                    int wait_ms) {
    grpc::ClientContext context;
    auto stream = OpenWatches(context);
    SendWatches(*stream, actor_id, n, wait_ms);
    auto answers = ReadAnswers(*stream, n);
    EXPECT_TRUE(stream->WritesDone());
    const grpc::Status status = stream->Finish();
    EXPECT_TRUE(status.ok()) << status.error_message();
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
  std::string server_address_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<proto::ActorDirectory::Stub> stub_;
};

// Whether the actor dies before the watches arrive or while they are parked, each of them
// answers DEAD: 2,000 watches on one stream.
TEST_F(ActorDirectoryServiceTest, WatchesAreAnsweredWhenTheActorChanges) {
  const std::string id = PendingActor();
  std::thread kill([&] { EXPECT_TRUE(manager_.Kill(id, "killed by the test").ok()); });
  const auto answers = Watch(id, 2000, 5000);
  kill.join();
  ASSERT_EQ(answers.size(), 2000u);
  for (const auto& [watch_id, answer] : answers) {
    ASSERT_EQ(answer.code(), 0) << answer.message();
    EXPECT_EQ(answer.reply().actor().state(), proto::ACTOR_DEAD);
  }
  EXPECT_EQ(manager_.parked_waits(), 0u);
}

// A watch of an actor the head does not know is answered NOT_FOUND; the stream goes on.
TEST_F(ActorDirectoryServiceTest, AWatchOfAnUnknownActorIsNotFound) {
  const auto answers = Watch("no-such-actor", 1, 5000);
  ASSERT_EQ(answers.size(), 1u);
  EXPECT_EQ(answers.begin()->second.code(), grpc::StatusCode::NOT_FOUND);
}

// Watches their caller takes out (a cancel each: what it sends when a watch's deadline passes)
// leave at once, not when the actor changes or their wait_ms runs out; the stream then ends
// as soon as its caller is done writing.
TEST_F(ActorDirectoryServiceTest, WatchesTakenOutAreDropped) {
  grpc::ClientContext context;
  auto stream = OpenWatches(context);
  ASSERT_NO_FATAL_FAILURE(ParkWatches(*stream, 50));
  proto::ActorWatches cancels;
  for (int i = 1; i <= 50; ++i) {
    cancels.add_watches()->set_watch_id(i);
    cancels.mutable_watches(i - 1)->set_cancel(true);
  }
  ASSERT_TRUE(stream->Write(cancels));
  EXPECT_TRUE(Eventually([&] { return manager_.parked_waits() == 0; }, milliseconds(2000)))
      << manager_.parked_waits() << " watches taken out are still parked";
  EXPECT_TRUE(stream->WritesDone());
  EXPECT_TRUE(ReadAnswers(*stream, 1).empty());
  const grpc::Status status = stream->Finish();
  EXPECT_TRUE(status.ok()) << status.error_message();
}

// A caller that goes away (here it cancels its stream; a closed connection is the same) takes
// its watches out at once.
TEST_F(ActorDirectoryServiceTest, WatchesOfACallerThatWentAwayAreDropped) {
  grpc::ClientContext context;
  auto stream = OpenWatches(context);
  ASSERT_NO_FATAL_FAILURE(ParkWatches(*stream, 50));
  context.TryCancel();
  EXPECT_TRUE(Eventually([&] { return manager_.parked_waits() == 0; }, milliseconds(2000)))
      << manager_.parked_waits() << " watches of a caller that went away are still parked";
  EXPECT_EQ(stream->Finish().error_code(), grpc::StatusCode::CANCELLED);
}

// A head that stops answers its parked watches, then ends their streams (UNAVAILABLE) rather
// than keeping them open for watches asked again, and refuses new ones.
TEST_F(ActorDirectoryServiceTest, AStoppingHeadAnswersItsWatchesThenEndsTheirStreams) {
  grpc::ClientContext context;
  auto stream = OpenWatches(context);
  ASSERT_NO_FATAL_FAILURE(ParkWatches(*stream, 50));
  manager_.AnswerWaits();  // as Head::CloseLogStreams does
  service_.CloseWatches("the head is stopping");
  const auto answers = ReadAnswers(*stream, 50);
  EXPECT_EQ(answers.size(), 50u);
  for (const auto& [watch_id, answer] : answers) {
    EXPECT_EQ(answer.code(), 0) << answer.message();
    EXPECT_EQ(answer.reply().actor().state(), proto::ACTOR_PENDING);
  }
  const grpc::Status ended = stream->Finish();
  EXPECT_EQ(ended.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(ended.error_message(), "the head is stopping");
  EXPECT_EQ(manager_.parked_waits(), 0u);

  grpc::ClientContext again;
  auto refused = OpenWatches(again);
  proto::ActorWatchAnswers none;
  EXPECT_FALSE(refused->Read(&none));
  EXPECT_EQ(refused->Finish().error_code(), grpc::StatusCode::UNAVAILABLE);
}

// A stream without the cluster token is refused.
TEST_F(ActorDirectoryServiceTest, AStreamWithoutTheTokenIsRefused) {
  auto channel = MakeChannel(server_address_, "not-the-cluster-token");
  auto stub = proto::ActorDirectory::NewStub(channel);
  grpc::ClientContext context;
  SetTimeout(context, milliseconds(3000));
  auto stream = stub->WatchActors(&context);
  proto::ActorWatchAnswers answers;
  EXPECT_FALSE(stream->Read(&answers));
  EXPECT_EQ(stream->Finish().error_code(), grpc::StatusCode::UNAUTHENTICATED);
}

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

// One connection holds at most kMaxStreamsPerConnection streams open: a call past them waits at
// its client until one ends, while another connection is served (a client that holds its
// streams open cannot starve others).
TEST_F(ActorDirectoryServiceTest, OneConnectionHoldsAtMostTheCapOfStreams) {
  const std::string id = PendingActor();
  std::vector<std::unique_ptr<grpc::ClientContext>> contexts;
  std::vector<std::unique_ptr<WatchStream>> streams;
  for (int i = 0; i < kMaxStreamsPerConnection; ++i) {
    auto& context = *contexts.emplace_back(std::make_unique<grpc::ClientContext>());
    streams.push_back(OpenWatches(context));
    SendWatches(*streams.back(), id, 1, 30000);
  }
  ASSERT_TRUE(Eventually(
      [&] { return manager_.parked_waits() == static_cast<size_t>(kMaxStreamsPerConnection); },
      milliseconds(8000)))
      << manager_.parked_waits() << " of " << kMaxStreamsPerConnection << " watches parked";
  // A GetActor on a connection of its own (not the channel's shared one), or on that one.
  auto get = [&](proto::ActorDirectory::Stub& stub, milliseconds deadline) {
    grpc::ClientContext context;
    SetTimeout(context, deadline);
    context.AddMetadata(kTokenMetadataKey, kToken);
    proto::GetActorRequest request;
    request.set_actor_id(id);
    proto::GetActorReply reply;
    return stub.GetActor(&context, request, &reply).error_code();
  };
  grpc::ChannelArguments own_connection;
  own_connection.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  auto other = proto::ActorDirectory::NewStub(
      grpc::CreateCustomChannel(server_address_, CurrentChannelCredentials(), own_connection));
  EXPECT_EQ(get(*stub_, milliseconds(1000)), grpc::StatusCode::DEADLINE_EXCEEDED)
      << "a call past the cap of streams on one connection was served";
  EXPECT_EQ(get(*other, milliseconds(5000)), grpc::StatusCode::OK);
  contexts[0]->TryCancel();
  EXPECT_EQ(streams[0]->Finish().error_code(), grpc::StatusCode::CANCELLED);
  EXPECT_EQ(get(*stub_, milliseconds(5000)), grpc::StatusCode::OK)
      << "a stream ended, and the next call still waits";
  for (size_t i = 1; i < streams.size(); ++i) {
    contexts[i]->TryCancel();
    streams[i]->Finish();
  }
}

// Creations sent together are each answered as CreateActor would answer it, in order: the one
// without a class fails alone, the others are registered and can be looked up.
TEST_F(ActorDirectoryServiceTest, CreationsSentTogetherAreAnsweredEachInOrder) {
  proto::CreateActorsRequest request;
  for (int i = 0; i < 3; ++i) {
    proto::ActorSpec& spec = *request.add_creations()->mutable_spec();
    spec.set_actor_id("actor-" + std::to_string(i));
    spec.set_job_id("job-1");
    if (i != 1) spec.set_class_name("Counter");
  }
  grpc::ClientContext context;
  SetTimeout(context, milliseconds(10000));
  proto::CreateActorsReply reply;
  const grpc::Status status = stub_->CreateActors(&context, request, &reply);
  ASSERT_TRUE(status.ok()) << status.error_message();
  ASSERT_EQ(reply.answers_size(), 3);
  for (int i : {0, 2}) {
    EXPECT_EQ(reply.answers(i).code(), 0) << reply.answers(i).message();
    EXPECT_EQ(reply.answers(i).actor().actor_id(), "actor-" + std::to_string(i));
    EXPECT_EQ(reply.answers(i).actor().state(), proto::ACTOR_PENDING);
    EXPECT_TRUE(actors_.Get("actor-" + std::to_string(i)).ok());
  }
  EXPECT_EQ(reply.answers(1).code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(reply.answers(1).message(), "actor needs a class name");
  EXPECT_FALSE(actors_.Get("actor-1").ok());
}

TEST_F(ActorDirectoryServiceTest, MoreCreationsThanACallMayCarryAreRefusedWhole) {
  proto::CreateActorsRequest request;
  for (int i = 0; i <= kMaxCreationsPerCall; ++i) {
    proto::ActorSpec& spec = *request.add_creations()->mutable_spec();
    spec.set_job_id("job-1");
    spec.set_class_name("Counter");
  }
  grpc::ClientContext context;
  SetTimeout(context, milliseconds(10000));
  proto::CreateActorsReply reply;
  const grpc::Status status = stub_->CreateActors(&context, request, &reply);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(actors_.List().size(), 0u);
}

// A watch of 0 or less is a look at the actor as it is, answered at once.
TEST_F(ActorDirectoryServiceTest, AWatchOfZeroOrLessIsAnsweredAtOnce) {
  const std::string id = PendingActor();
  for (int wait_ms : {0, -1}) {
    const auto answers = Watch(id, 1, wait_ms);
    ASSERT_EQ(answers.size(), 1u);
    ASSERT_EQ(answers.begin()->second.code(), 0) << answers.begin()->second.message();
    EXPECT_EQ(answers.begin()->second.reply().actor().state(), proto::ACTOR_PENDING);
  }
  EXPECT_EQ(manager_.parked_waits(), 0u);
}

}  // namespace
}  // namespace weft::head
