// Rotating the cluster token (issue 13): `weft token rotate` gives every process of a running
// cluster a new token without restarting any of them; the old one is refused once the grace
// period it names has passed, and a head started again takes the new one.

#include <gmock/gmock.h>
#include <grpcpp/create_channel.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <weft/weft.h>

#include <string>
#include <vector>

#include "common/auth.h"
#include "head.grpc.pb.h"
#include "node.grpc.pb.h"
#include "tests/actors/test_actors.h"
#include "tests/cluster_fixture.h"
#include "worker.grpc.pb.h"

namespace weft::testing {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;

// What a process that holds `token` and nothing else gets from a daemon: a channel of its own
// (a channel of this process would follow the rotation this driver adopted).
template <typename Service, typename Request, typename Reply>
grpc::StatusCode AnswerTo(const std::string& address, const std::string& token,
                          grpc::Status (Service::Stub::*method)(grpc::ClientContext*,
                                                                const Request&, Reply*)) {
  auto stub = Service::NewStub(grpc::CreateChannel(address, grpc::InsecureChannelCredentials()));
  grpc::ClientContext context;
  context.AddMetadata(kTokenMetadataKey, token);
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
  Reply reply;
  return ((*stub).*method)(&context, Request(), &reply).error_code();
}

grpc::StatusCode HeadAnswers(const std::string& address, const std::string& token) {
  return AnswerTo<proto::NodeDirectory>(address, token, &proto::NodeDirectory::Stub::ListNodes);
}
grpc::StatusCode NodeAnswers(const std::string& address, const std::string& token) {
  return AnswerTo<proto::NodeManager>(address, token, &proto::NodeManager::Stub::GetNodeInfo);
}
grpc::StatusCode WorkerAnswers(const std::string& address, const std::string& token) {
  return AnswerTo<proto::Worker>(address, token, &proto::Worker::Stub::Ping);
}

std::string TokenIn(const std::string& path) { return ReadTokenFile(path).value_or(""); }

class TokenRotationTest : public DrivenClusterTest {
 protected:
  static void SetUpTestSuite() {
    auto* cluster = new TestCluster(2);
    cluster_ = cluster;
    ASSERT_FALSE(cluster->JoinNode({"--num-cpus", "2", "--resources", R"({"side": 1})"}).empty());
    ASSERT_TRUE(WaitFor([] { return cluster_->ListNodes().nodes_size() == 2; }));
    Attach(cluster);
  }
};

// A driver and its actors keep working through a rotation; the old token is refused by the
// head, the nodes and the workers afterwards; the new one is written where the old one was
// read and is never printed; the workers are the same processes.
TEST_F(TokenRotationTest, EveryProcessTakesTheNewTokenAndTheOldOneIsRefusedAfterTheGrace) {
  std::vector<weft::ActorHandle<Recorder>> actors;
  for (int i = 0; i < 4; ++i) actors.push_back(weft::Actor<Recorder>().Remote());
  std::vector<int> pids;
  for (auto& actor : actors) {
    actor.Call(&Recorder::Append, 1).Get(kBound);
    pids.push_back(actor.Call(&Recorder::Pid).Get(kBound));
  }
  const std::string old_token = cluster_->token();
  const std::string worker = cluster_->GetActor(actors[0].id()).address();
  std::string node_address;
  const auto nodes = cluster_->ListNodes();
  for (const auto& node : nodes.nodes()) {
    if (!node.is_head()) node_address = node.address();
  }
  ASSERT_FALSE(node_address.empty());
  ASSERT_EQ(HeadAnswers(cluster_->head_address(), old_token), grpc::StatusCode::OK);

  const auto rotated =
      Weft({"token", "rotate", "--grace", "3s", "--session-dir", cluster_->head_session()});
  ASSERT_EQ(rotated.exit_code, 0) << rotated.out << rotated.err;
  const std::string new_token = TokenIn(cluster_->token_file());
  ASSERT_FALSE(new_token.empty());
  EXPECT_NE(new_token, old_token);
  EXPECT_THAT(rotated.out, HasSubstr(cluster_->token_file()));
  EXPECT_THAT(rotated.out, HasSubstr("2 nodes"));
  for (const auto& printed : {rotated.out, rotated.err}) {
    EXPECT_THAT(printed, Not(HasSubstr(new_token)));
    EXPECT_THAT(printed, Not(HasSubstr(old_token)));
  }

  // During the grace both are taken; the driver's calls go on.
  EXPECT_EQ(HeadAnswers(cluster_->head_address(), new_token), grpc::StatusCode::OK);
  EXPECT_EQ(NodeAnswers(node_address, new_token), grpc::StatusCode::OK);
  EXPECT_EQ(WorkerAnswers(worker, new_token), grpc::StatusCode::OK);
  for (auto& actor : actors) actor.Call(&Recorder::Append, 2).Get(kBound);
  // A worker started during the grace takes the rotation from its node.
  auto during = weft::Actor<Recorder>().Remote();
  EXPECT_EQ(during.Call(&Recorder::Echo, 8).Get(kBound), 8);
  const std::string during_worker = cluster_->GetActor(during.id()).address();

  ASSERT_TRUE(WaitFor(
      [&] {
        return HeadAnswers(cluster_->head_address(), old_token) ==
               grpc::StatusCode::UNAUTHENTICATED;
      },
      std::chrono::seconds(20)))
      << "the head still takes the old token";
  EXPECT_TRUE(WaitFor(
      [&] { return NodeAnswers(node_address, old_token) == grpc::StatusCode::UNAUTHENTICATED; },
      std::chrono::seconds(5)));
  EXPECT_TRUE(
      WaitFor([&] { return WorkerAnswers(worker, old_token) == grpc::StatusCode::UNAUTHENTICATED; },
              std::chrono::seconds(5)));
  EXPECT_EQ(HeadAnswers(cluster_->head_address(), new_token), grpc::StatusCode::OK);
  EXPECT_EQ(NodeAnswers(node_address, new_token), grpc::StatusCode::OK);
  EXPECT_EQ(WorkerAnswers(worker, new_token), grpc::StatusCode::OK);
  EXPECT_EQ(WorkerAnswers(during_worker, old_token), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(WorkerAnswers(during_worker, new_token), grpc::StatusCode::OK);
  EXPECT_EQ(during.Call(&Recorder::Echo, 9).Get(kBound), 9);

  // The same workers, their state kept, serve the driver that started before the rotation.
  for (size_t i = 0; i < actors.size(); ++i) {
    actors[i].Call(&Recorder::Append, 3).Get(kBound);
    EXPECT_THAT(actors[i].Call(&Recorder::Sequence).Get(kBound), ElementsAre(1, 2, 3));
    EXPECT_EQ(actors[i].Call(&Recorder::Pid).Get(kBound), pids[i]);
  }
  // New workers and tasks start with the new token; a new driver (the CLI) reads it.
  auto fresh = weft::Actor<Recorder>().Remote();
  EXPECT_EQ(fresh.Call(&Recorder::Echo, 9).Get(kBound), 9);
  EXPECT_EQ(weft::Task(&Add).Remote(2, 3).Get(kBound), 5);
  const auto listed = Weft({"list", "actors", "--session-dir", cluster_->head_session()});
  EXPECT_EQ(listed.exit_code, 0) << listed.err;

  // A second rotation while the first one's grace has passed is taken too.
  const auto again =
      Weft({"token", "rotate", "--grace", "2s", "--session-dir", cluster_->head_session()});
  ASSERT_EQ(again.exit_code, 0) << again.out << again.err;
  EXPECT_NE(TokenIn(cluster_->token_file()), new_token);
  EXPECT_EQ(actors[1].Call(&Recorder::Echo, 4).Get(kBound), 4);
}

// A node cut off (SIGSTOPped) when the token is rotated: the rotation goes on without it, and
// the command names it among those that did not take the token.
TEST_F(TokenRotationTest, ANodeCutOffIsNamedAndTheRotationGoesOnWithoutIt) {
  const auto nodes = cluster_->ListNodes();
  int side_pid = 0;
  std::string side_address;
  for (const auto& node : nodes.nodes()) {
    if (!node.is_head()) {
      side_pid = node.raylet_pid();
      side_address = node.address();
    }
  }
  ASSERT_GT(side_pid, 1);
  Stopped stopped(side_pid);
  ASSERT_TRUE(stopped.ok());
  const auto rotated =
      Weft({"token", "rotate", "--grace", "60s", "--session-dir", cluster_->head_session()});
  ASSERT_EQ(rotated.exit_code, 0) << rotated.out << rotated.err;
  EXPECT_THAT(rotated.out, HasSubstr("taken by 1 node"));
  EXPECT_THAT(rotated.out, HasSubstr("warning: not taken by " + side_address));
  EXPECT_EQ(HeadAnswers(cluster_->head_address(), TokenIn(cluster_->token_file())),
            grpc::StatusCode::OK);
}

// A rotation while one is under way is refused, and bad grace periods are refused.
TEST_F(TokenRotationTest, ARotationDuringAnotherAndABadGraceAreRefused) {
  const auto first =
      Weft({"token", "rotate", "--grace", "30s", "--session-dir", cluster_->head_session()});
  ASSERT_EQ(first.exit_code, 0) << first.out << first.err;
  const auto second = Weft({"token", "rotate", "--session-dir", cluster_->head_session()});
  EXPECT_EQ(second.exit_code, 1);
  EXPECT_THAT(second.err, HasSubstr("under way"));
  for (const char* grace : {"0s", "-1s", "2d", "soon"}) {
    const auto bad = Weft({"token", "rotate", std::string("--grace=") + grace, "--session-dir",
                           cluster_->head_session()});
    EXPECT_NE(bad.exit_code, 0) << grace;
    EXPECT_THAT(bad.err, HasSubstr("--grace")) << grace;
  }
  // The driver still works.
  auto actor = weft::Actor<Recorder>().Remote();
  EXPECT_EQ(actor.Call(&Recorder::Echo, 5).Get(kBound), 5);
}

// A head killed during a rotation's grace and started again takes the new token from its
// session (its store and its CA follow the rotation), refuses the old one at once, keeps
// refusing a second rotation until the grace is over, and the cluster goes on: its nodes and
// the driver send the new token.
TEST_F(TokenRotationTest, AHeadStartedAgainDuringTheGraceTakesTheNewToken) {
  // On the node that is not the head's: that one ends with the head.
  auto actor =
      weft::Actor<Recorder>({.name = "kept", .resources = {{"side", 0.5}}, .detached = true})
          .Remote();
  actor.Call(&Recorder::Append, 1).Get(kBound);
  const auto rotated =
      Weft({"token", "rotate", "--grace", "60s", "--session-dir", cluster_->head_session()});
  ASSERT_EQ(rotated.exit_code, 0) << rotated.out << rotated.err;
  const std::string new_token = TokenIn(cluster_->token_file());
  ASSERT_EQ(kill(cluster_->HeadPid(), SIGKILL), 0);
  ASSERT_TRUE(WaitFor([] { return cluster_->HeadPid() < 0; }));
  const auto restarted = cluster_->RestartHead();
  ASSERT_EQ(restarted.exit_code, 0) << restarted.out << restarted.err;
  EXPECT_EQ(HeadAnswers(cluster_->head_address(), new_token), grpc::StatusCode::OK);
  EXPECT_EQ(HeadAnswers(cluster_->head_address(), cluster_->token()),
            grpc::StatusCode::UNAUTHENTICATED);
  actor.Call(&Recorder::Append, 2).Get(kBound);
  EXPECT_THAT(actor.Call(&Recorder::Sequence).Get(kBound), ElementsAre(1, 2));
  auto found = weft::GetActor<Recorder>("kept");
  EXPECT_EQ(found.Call(&Recorder::Echo, 6).Get(kBound), 6);
  // The node kept its place (it sends the new token): new actors start on it.
  ASSERT_TRUE(WaitFor([] { return cluster_->AliveNodeCount() == 2; }, std::chrono::seconds(20)));
  auto fresh = weft::Actor<Recorder>({.resources = {{"side", 0.5}}}).Remote();
  EXPECT_EQ(fresh.Call(&Recorder::Echo, 7).Get(kBound), 7);
  const auto again = Weft({"token", "rotate", "--session-dir", cluster_->head_session()});
  EXPECT_EQ(again.exit_code, 1);
  EXPECT_THAT(again.err, HasSubstr("under way"));
  weft::Kill(actor);
}

}  // namespace
}  // namespace weft::testing
