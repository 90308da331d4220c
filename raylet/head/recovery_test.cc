// The head's tables over a store (issue 12): what one head wrote, a head started later on the
// same SQLite file reads back, and a change that cannot be stored is not acknowledged.

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <memory>

#include "common/auth.h"
#include "common/rpc.h"
#include "head.grpc.pb.h"
#include "raylet/head/actor_directory.h"
#include "raylet/head/head.h"
#include "raylet/head/job_registry.h"
#include "raylet/head/node_directory.h"
#include "raylet/head/object_directory.h"
#include "raylet/head/storage/table_store.h"

namespace weft::head {
namespace {

class RecoveryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("weft-recovery-" + std::to_string(getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  // A store on the test's file, as a head opening it at start.
  std::unique_ptr<TableStore> Open() {
    auto store = OpenSqliteStore((dir_ / "head.sqlite").string());
    EXPECT_TRUE(store.ok()) << store.status();
    return store.ok() ? *std::move(store) : nullptr;
  }

  std::filesystem::path dir_;
};

// A store whose writes fail: the head must not acknowledge what it could not keep.
class BrokenStore final : public TableStore {
 public:
  absl::Status Apply(const std::vector<Change>&) override {
    return absl::UnavailableError("disk full");
  }
  absl::StatusOr<Rows> Load(const std::string&) override { return Rows(); }
};

proto::NodeInfo Node(const std::string& id, bool is_head = false) {
  proto::NodeInfo node;
  node.set_node_id(id);
  node.set_address("127.0.0.1:" + std::to_string(7000 + id.size()));
  node.set_is_head(is_head);
  (*node.mutable_total())["CPU"] = 2;
  return node;
}

TEST_F(RecoveryTest, JobsComeBackInStartOrderWithTheirStates) {
  {
    auto store = Open();
    JobRegistry jobs;
    ASSERT_TRUE(jobs.Recover(*store).ok());
    proto::RegisterJobRequest request;
    request.set_driver_pid(7);
    for (int i = 0; i < 3; ++i) ASSERT_TRUE(jobs.Register(request).ok());
    ASSERT_TRUE(jobs.Finish("job-0002").ok());
  }
  auto store = Open();
  JobRegistry jobs;
  auto running = jobs.Recover(*store);
  ASSERT_TRUE(running.ok()) << running.status();
  EXPECT_EQ(*running, (std::vector<std::string>{"job-0001", "job-0003"}));
  const auto listed = jobs.List();
  ASSERT_EQ(listed.size(), 3u);
  EXPECT_EQ(listed[1].state(), proto::JOB_FINISHED);
  proto::RegisterJobRequest request;
  EXPECT_EQ(jobs.Register(request)->job_id(), "job-0004") << "an id was handed out twice";
}

TEST_F(RecoveryTest, LiveActorsComeBackWithTheirSpecsAndDeadOnesWithoutTheirArguments) {
  std::string alive_id, dead_id;
  {
    auto store = Open();
    ActorDirectory actors;
    ASSERT_TRUE(actors.Recover(*store).ok());
    proto::ActorInfo info;
    info.set_class_name("Counter");
    info.set_name("kept");
    info.set_detached(true);
    proto::ActorSpec spec;
    spec.set_constructor_args("\x91\x05");
    auto alive = actors.Register(info, spec);
    ASSERT_TRUE(alive.ok());
    alive_id = alive->actor_id();
    alive->set_state(proto::ACTOR_ALIVE);
    alive->set_worker_id("w1");
    ASSERT_TRUE(actors.Update(*alive).ok());
    info.set_name("gone");
    auto dead = actors.Register(info, spec);
    ASSERT_TRUE(dead.ok());
    dead_id = dead->actor_id();
    dead->set_state(proto::ACTOR_DEAD);
    ASSERT_TRUE(actors.Update(*dead).ok());
  }
  auto store = Open();
  ActorDirectory actors;
  auto live = actors.Recover(*store);
  ASSERT_TRUE(live.ok()) << live.status();
  ASSERT_EQ(live->size(), 1u);
  EXPECT_EQ((*live)[0].info().actor_id(), alive_id);
  EXPECT_EQ((*live)[0].info().worker_id(), "w1");
  EXPECT_EQ((*live)[0].spec().constructor_args(), "\x91\x05");
  EXPECT_EQ(actors.GetByName("", "kept")->actor_id(), alive_id);
  EXPECT_EQ(actors.Get(dead_id)->state(), proto::ACTOR_DEAD);
  auto specs = store->Load(kActorSpecsTable);
  ASSERT_TRUE(specs.ok());
  ASSERT_EQ(specs->size(), 1u) << "a dead actor's spec (its arguments) was kept";
  EXPECT_EQ(specs->front().first, alive_id);
  // The dead actor's name is free again; the live one's is not.
  EXPECT_EQ(actors.GetByName("", "gone").status().code(), absl::StatusCode::kNotFound);
  proto::ActorInfo again;
  again.set_class_name("Counter");
  again.set_name("gone");
  EXPECT_TRUE(actors.Register(again).ok());
  again.set_name("kept");
  EXPECT_EQ(actors.Register(again).status().code(), absl::StatusCode::kAlreadyExists);
}

TEST_F(RecoveryTest, AliveNodesWaitForTheGraceAndTheOldHeadsNodeIsDeadAtOnce) {
  absl::Time now = absl::UnixEpoch();
  auto clock = [&now] { return now; };
  NodeDirectory::Options options{.node_timeout = absl::Seconds(3)};
  {
    auto store = Open();
    NodeDirectory nodes(options, clock);
    ASSERT_TRUE(nodes.Recover(*store, absl::Seconds(10)).ok());
    ASSERT_TRUE(nodes.Register(Node("head-node", /*is_head=*/true)).ok());
    ASSERT_TRUE(nodes.Register(Node("worker-node")).ok());
    ASSERT_TRUE(nodes.Register(Node("left")).ok());
    ASSERT_TRUE(nodes.Unregister("left", "stopped").ok());
  }
  auto store = Open();
  NodeDirectory nodes(options, clock);
  auto gone = nodes.Recover(*store, absl::Seconds(10));
  ASSERT_TRUE(gone.ok()) << gone.status();
  EXPECT_EQ(*gone, std::vector<std::string>{"head-node"});
  ASSERT_TRUE(nodes.Get("worker-node"));
  EXPECT_EQ(nodes.Get("worker-node")->state(), proto::NODE_ALIVE);
  EXPECT_TRUE(nodes.Get("worker-node")->available().empty()) << "offered before it reported";
  EXPECT_EQ(nodes.Get("left")->state(), proto::NODE_DEAD);
  now += absl::Seconds(12);  // within grace + node timeout
  EXPECT_TRUE(nodes.MarkSilentNodesDead().empty());
  now += absl::Seconds(2);
  EXPECT_EQ(nodes.MarkSilentNodesDead(), std::vector<std::string>{"worker-node"});
}

// Nodes that restart pile up DEAD entries (issue 14): the ones that died first go beyond the
// bound, from the table and from the store, whatever order they registered in; ALIVE nodes
// are never dropped. The order of deaths is stored: a restarted head with a smaller bound
// drops the earliest dead too.
TEST_F(RecoveryTest, OnlyTheNewestDeadNodesAreKept) {
  absl::Time now = absl::UnixEpoch();
  auto clock = [&now] { return now; };
  NodeDirectory::Options options{.node_timeout = absl::Seconds(3), .max_dead_nodes = 3};
  const auto stored_ids = [&] {
    auto store = Open();
    auto rows = LoadMessages<proto::NodeInfo>(*store, kNodesTable);
    EXPECT_TRUE(rows.ok()) << rows.status();
    std::vector<std::string> ids;
    for (const auto& row : rows.value_or(std::vector<proto::NodeInfo>())) {
      ids.push_back(row.node_id());
    }
    std::sort(ids.begin(), ids.end());
    return ids;
  };
  const auto listed_ids = [](const NodeDirectory& nodes) {
    std::vector<std::string> ids;
    for (const auto& node : nodes.List()) ids.push_back(node.node_id());
    return ids;
  };
  {
    auto store = Open();
    NodeDirectory nodes(options, clock);
    ASSERT_TRUE(nodes.Recover(*store, absl::Seconds(10)).ok());
    ASSERT_TRUE(nodes.Register(Node("alive")).ok());
    for (const char* id : {"d1", "d2", "d3", "d4"}) ASSERT_TRUE(nodes.Register(Node(id)).ok());
    ASSERT_TRUE(nodes.Register(Node("silent")).ok());
    // They die in another order than they registered: d4 first, d1 last.
    for (const char* id : {"d4", "d3", "d2", "d1"}) {
      ASSERT_TRUE(nodes.Unregister(id, "restarted").ok());
    }
    now += absl::Seconds(4);
    ASSERT_TRUE(nodes
                    .Heartbeat([] {
                      proto::HeartbeatRequest beat;
                      beat.set_node_id("alive");
                      return beat;
                    }())
                    .ok());
    EXPECT_EQ(nodes.MarkSilentNodesDead(), std::vector<std::string>{"silent"});
    EXPECT_EQ(listed_ids(nodes), (std::vector<std::string>{"alive", "d1", "d2", "silent"}));
    EXPECT_EQ(stored_ids(), (std::vector<std::string>{"alive", "d1", "d2", "silent"}));
    ASSERT_TRUE(nodes.Get("d1"));
    EXPECT_GT(nodes.Get("d1")->dead_unix_ms(), 0);
  }
  options.max_dead_nodes = 2;
  auto store = Open();
  NodeDirectory nodes(options, clock);
  ASSERT_TRUE(nodes.Recover(*store, absl::Seconds(10)).ok());
  EXPECT_EQ(listed_ids(nodes), (std::vector<std::string>{"alive", "d1", "silent"}));
  EXPECT_EQ(stored_ids(), (std::vector<std::string>{"alive", "d1", "silent"}));
  // Deaths after the restart come after those it found.
  ASSERT_TRUE(nodes.Unregister("alive", "stopped").ok());
  EXPECT_EQ(listed_ids(nodes), (std::vector<std::string>{"alive", "silent"}));
}

// The first heartbeat of a node taken over tells the head to adopt its workers (leased by
// the dead head); later ones, and those of nodes that join the new head, do not.
TEST_F(RecoveryTest, ANodeTakenOverSaysItIsBackOnceWithItsFirstHeartbeat) {
  {
    auto store = Open();
    NodeDirectory nodes({});
    ASSERT_TRUE(nodes.Recover(*store, absl::Seconds(10)).ok());
    ASSERT_TRUE(nodes.Register(Node("known")).ok());
  }
  auto store = Open();
  NodeDirectory nodes({});
  ASSERT_TRUE(nodes.Recover(*store, absl::Seconds(10)).ok());
  ASSERT_TRUE(nodes.Register(Node("newcomer")).ok());
  proto::HeartbeatRequest beat;
  beat.set_node_id("known");
  auto back = nodes.Heartbeat(beat);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_TRUE(*back);
  back = nodes.Heartbeat(beat);
  ASSERT_TRUE(back.ok());
  EXPECT_FALSE(*back) << "said twice: its workers would be adopted on every heartbeat";
  beat.set_node_id("newcomer");
  back = nodes.Heartbeat(beat);
  ASSERT_TRUE(back.ok());
  EXPECT_FALSE(*back) << "a node of this head has nothing to adopt";
}

// A head killed halfway through an ending (a job finished, a node declared dead: each several
// writes) finishes it when it comes back: the job's actors that were not detached die, and
// so do the actors of the dead node; the detached ones live on.
TEST_F(RecoveryTest, AHeadKilledHalfwayThroughAnEndingFinishesItWhenItComesBack) {
  std::string owned, detached, stranded;
  {
    auto store = Open();
    ASSERT_TRUE(store->Apply({{kClusterTable, "id", "c1"}}).ok());
    NodeDirectory nodes({});
    JobRegistry jobs;
    ActorDirectory actors;
    ASSERT_TRUE(nodes.Recover(*store, absl::Seconds(10)).ok());
    ASSERT_TRUE(jobs.Recover(*store).ok());
    ASSERT_TRUE(actors.Recover(*store).ok());
    ASSERT_TRUE(nodes.Register(Node("n1")).ok());
    ASSERT_TRUE(nodes.Register(Node("n22")).ok());
    ASSERT_TRUE(jobs.Register(proto::RegisterJobRequest()).ok());  // job-0001
    ASSERT_TRUE(jobs.Register(proto::RegisterJobRequest()).ok());  // job-0002
    auto place = [&](const std::string& job, const std::string& node, bool is_detached) {
      proto::ActorInfo info;
      info.set_class_name("Counter");
      info.set_job_id(job);
      info.set_detached(is_detached);
      proto::ActorSpec spec;
      spec.set_job_id(job);
      spec.set_detached(is_detached);
      auto made = actors.Register(info, spec);
      EXPECT_TRUE(made.ok());
      made->set_state(proto::ACTOR_ALIVE);
      made->set_node_id(node);
      made->set_worker_id("w-" + made->actor_id());
      made->set_address("127.0.0.1:1");  // nothing listens: stopping its worker fails quietly
      EXPECT_TRUE(actors.Update(*made).ok());
      return made->actor_id();
    };
    owned = place("job-0001", "n1", false);
    detached = place("job-0001", "n1", true);
    stranded = place("job-0002", "n22", false);
    // Killed right after these writes, before the ones about the actors.
    ASSERT_TRUE(jobs.Finish("job-0001").ok());
    ASSERT_TRUE(nodes.Unregister("n22", "stopped").ok());
  }
  PinCallbackQueue();  // a call the head started may end after the head (common/rpc.h)
  TokenAuth auth("token");
  auto head = Head::Create({}, auth, "token", Open(), /*existed=*/true);
  ASSERT_TRUE(head.ok()) << head.status();
  ASSERT_TRUE((*head)->Recover().ok());
  auto store = Open();
  auto rows = LoadMessages<proto::ActorInfo>(*store, kActorsTable);
  ASSERT_TRUE(rows.ok()) << rows.status();
  absl::flat_hash_map<std::string, proto::ActorInfo> by_id;
  for (auto& row : *rows) by_id[row.actor_id()] = row;
  EXPECT_EQ(by_id[owned].state(), proto::ACTOR_DEAD);
  EXPECT_EQ(by_id[owned].death_reason(), "its job finished");
  EXPECT_EQ(by_id[detached].state(), proto::ACTOR_ALIVE);
  EXPECT_EQ(by_id[stranded].state(), proto::ACTOR_DEAD);
  EXPECT_EQ(by_id[stranded].death_reason(), "node n22 died");
}

// A head that takes over more DEAD nodes than it keeps forgets the earliest dead, and with
// them the object copies still stored on them (a head killed before it removed those):
// neither a dropped node nor a kept one leaves a copy behind to be fetched from nowhere.
TEST_F(RecoveryTest, NodesDroppedAtRecoveryTakeTheirObjectCopiesWithThem) {
  const auto copy_on = [](const std::string& node) {
    proto::ObjectLocation where;
    where.set_worker_id("w-" + node);
    where.set_node_id(node);
    where.set_address("127.0.0.1:9");
    return where;
  };
  {
    auto store = Open();
    ASSERT_TRUE(store->Apply({{kClusterTable, "id", "c1"}}).ok());
    NodeDirectory nodes({});
    ObjectDirectory objects;
    ASSERT_TRUE(nodes.Recover(*store, absl::Seconds(10)).ok());
    ASSERT_TRUE(objects.Recover(*store).ok());
    for (const char* id : {"first", "second", "last", "alive"}) {
      ASSERT_TRUE(nodes.Register(Node(id)).ok());
      ASSERT_TRUE(objects.Add(std::string("on-") + id, copy_on(id), {"job-0001", ""}).ok());
    }
    // Killed after each death was stored, before the copies went.
    for (const char* id : {"first", "second", "last"}) {
      ASSERT_TRUE(nodes.Unregister(id, "stopped").ok());
    }
  }
  PinCallbackQueue();  // a call the head started may end after the head (common/rpc.h)
  TokenAuth auth("token");
  auto head = Head::Create({.max_dead_nodes = 1}, auth, "token", Open(), /*existed=*/true);
  ASSERT_TRUE(head.ok()) << head.status();
  ASSERT_TRUE((*head)->Recover().ok());
  auto store = Open();
  auto rows = LoadMessages<proto::ObjectInfo>(*store, kObjectsTable);
  ASSERT_TRUE(rows.ok()) << rows.status();
  std::vector<std::string> with_copies;
  for (const auto& row : *rows) {
    if (row.locations_size() > 0) with_copies.push_back(row.object_id());
  }
  EXPECT_EQ(with_copies, std::vector<std::string>{"on-alive"});
  auto nodes = LoadMessages<proto::NodeInfo>(*store, kNodesTable);
  ASSERT_TRUE(nodes.ok()) << nodes.status();
  EXPECT_EQ(nodes->size(), 2u) << "alive, and the last dead";
}

TEST_F(RecoveryTest, ObjectLocationsComeBackAndFreedOnesStayGone) {
  proto::ObjectLocation where;
  where.set_worker_id("w1");
  where.set_node_id("n1");
  where.set_address("127.0.0.1:9");
  {
    auto store = Open();
    ObjectDirectory objects;
    ASSERT_TRUE(objects.Recover(*store).ok());
    ASSERT_TRUE(objects.Add("kept", where, {"job-0001", ""}).ok());
    ASSERT_TRUE(objects.Add("freed", where, {"job-0001", ""}).ok());
    objects.Remove("freed", "w1");
  }
  auto store = Open();
  ObjectDirectory objects;
  ASSERT_TRUE(objects.Recover(*store).ok());
  ASSERT_EQ(objects.Locations("kept").size(), 1u);
  EXPECT_EQ(objects.Locations("kept")[0].address(), "127.0.0.1:9");
  EXPECT_TRUE(objects.Locations("freed").empty());
  const auto orphans = objects.RemoveOwnedBy({"job-0001", ""});
  ASSERT_EQ(orphans.size(), 1u) << "the owner's object was not known after the restart";
}

TEST_F(RecoveryTest, AChangeThatCannotBeStoredIsNotAcknowledged) {
  BrokenStore broken;
  JobRegistry jobs;
  ASSERT_TRUE(jobs.Recover(broken).ok());
  EXPECT_EQ(jobs.Register(proto::RegisterJobRequest()).status().code(),
            absl::StatusCode::kUnavailable);
  EXPECT_TRUE(jobs.List().empty());
  ActorDirectory actors;
  ASSERT_TRUE(actors.Recover(broken).ok());
  proto::ActorInfo info;
  info.set_class_name("Counter");
  EXPECT_EQ(actors.Register(info).status().code(), absl::StatusCode::kUnavailable);
  EXPECT_TRUE(actors.List().empty());
  NodeDirectory nodes(NodeDirectory::Options{});
  ASSERT_TRUE(nodes.Recover(broken, absl::Seconds(1)).ok());
  EXPECT_EQ(nodes.Register(Node("n1")).code(), absl::StatusCode::kUnavailable);
  EXPECT_TRUE(nodes.List().empty());
  ObjectDirectory objects;
  ASSERT_TRUE(objects.Recover(broken).ok());
  proto::ObjectLocation where;
  where.set_worker_id("w1");
  EXPECT_EQ(objects.Add("o", where).code(), absl::StatusCode::kUnavailable);
  EXPECT_TRUE(objects.Locations("o").empty());
}

}  // namespace
}  // namespace weft::head
