#include "raylet/head/actor_directory.h"

#include <gtest/gtest.h>

namespace weft::head {
namespace {

proto::ActorInfo Actor(const std::string& name, const std::string& ns = "default") {
  proto::ActorInfo actor;
  actor.set_class_name("Counter");
  actor.set_name(name);
  actor.set_namespace_(ns);
  return actor;
}

proto::ActorInfo PlacedOn(proto::ActorInfo actor, const std::string& node_id) {
  actor.set_state(proto::ACTOR_ALIVE);
  actor.set_node_id(node_id);
  return actor;
}

TEST(ActorDirectoryTest, RegisterAssignsIdAndPendingState) {
  ActorDirectory actors;
  auto a = actors.Register(Actor("counter"));
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_FALSE(a->actor_id().empty());
  EXPECT_EQ(a->state(), proto::ACTOR_PENDING);
  auto b = actors.Register(Actor(""));
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_NE(a->actor_id(), b->actor_id());
}

TEST(ActorDirectoryTest, RegisterWithoutClassNameIsInvalidArgument) {
  ActorDirectory actors;
  proto::ActorInfo actor = Actor("counter");
  actor.clear_class_name();
  EXPECT_EQ(actors.Register(actor).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(ActorDirectoryTest, RegisterWithTakenIdIsAlreadyExists) {
  ActorDirectory actors;
  proto::ActorInfo actor = Actor("");
  actor.set_actor_id("a1");
  ASSERT_TRUE(actors.Register(actor).ok());
  EXPECT_EQ(actors.Register(actor).status().code(), absl::StatusCode::kAlreadyExists);
}

TEST(ActorDirectoryTest, NameIsUniqueWithinNamespace) {
  ActorDirectory actors;
  ASSERT_TRUE(actors.Register(Actor("counter", "ns1")).ok());
  EXPECT_EQ(actors.Register(Actor("counter", "ns1")).status().code(),
            absl::StatusCode::kAlreadyExists);
  EXPECT_TRUE(actors.Register(Actor("counter", "ns2")).ok());
}

TEST(ActorDirectoryTest, AnonymousActorsDoNotClash) {
  ActorDirectory actors;
  ASSERT_TRUE(actors.Register(Actor("")).ok());
  EXPECT_TRUE(actors.Register(Actor("")).ok());
  EXPECT_EQ(actors.List().size(), 2u);
}

TEST(ActorDirectoryTest, GetByNameFindsTheActorInItsNamespaceOnly) {
  ActorDirectory actors;
  auto registered = actors.Register(Actor("counter", "ns1"));
  ASSERT_TRUE(registered.ok());
  auto found = actors.GetByName("ns1", "counter");
  ASSERT_TRUE(found.ok()) << found.status();
  EXPECT_EQ(found->actor_id(), registered->actor_id());
  EXPECT_EQ(actors.GetByName("ns2", "counter").status().code(), absl::StatusCode::kNotFound);
}

TEST(ActorDirectoryTest, DeadActorFreesItsName) {
  ActorDirectory actors;
  auto first = actors.Register(Actor("counter"));
  ASSERT_TRUE(first.ok());
  proto::ActorInfo dead = *first;
  dead.set_state(proto::ACTOR_DEAD);
  ASSERT_TRUE(actors.Update(dead).ok());
  EXPECT_EQ(actors.GetByName("default", "counter").status().code(), absl::StatusCode::kNotFound);

  auto second = actors.Register(Actor("counter"));
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_EQ(actors.GetByName("default", "counter")->actor_id(), second->actor_id());
}

TEST(ActorDirectoryTest, LateUpdateOfDeadActorDoesNotDuplicateItsRetakenName) {
  ActorDirectory actors;
  auto old_actor = actors.Register(PlacedOn(Actor("counter"), "n1"));
  ASSERT_TRUE(old_actor.ok());
  ASSERT_EQ(actors.MarkNodeDead("n1"), 1);
  auto new_actor = actors.Register(Actor("counter"));
  ASSERT_TRUE(new_actor.ok()) << new_actor.status();

  // A stale ALIVE report from the old worker is refused.
  EXPECT_EQ(actors.Update(PlacedOn(*old_actor, "n1")).code(),
            absl::StatusCode::kFailedPrecondition);

  int live_named_counter = 0;
  for (const auto& a : actors.List()) {
    live_named_counter += a.name() == "counter" && a.state() != proto::ACTOR_DEAD;
  }
  EXPECT_EQ(live_named_counter, 1);
  EXPECT_EQ(actors.GetByName("default", "counter")->actor_id(), new_actor->actor_id());
}

TEST(ActorDirectoryTest, UpdateReplacesStateAndPlacement) {
  ActorDirectory actors;
  auto registered = actors.Register(Actor("counter"));
  ASSERT_TRUE(registered.ok());
  proto::ActorInfo update = PlacedOn(*registered, "n1");
  update.set_address("127.0.0.1:5000");
  update.set_pid(1234);
  ASSERT_TRUE(actors.Update(update).ok());
  auto stored = actors.Get(registered->actor_id());
  ASSERT_TRUE(stored.ok());
  EXPECT_EQ(stored->state(), proto::ACTOR_ALIVE);
  EXPECT_EQ(stored->node_id(), "n1");
  EXPECT_EQ(stored->address(), "127.0.0.1:5000");
  EXPECT_EQ(stored->pid(), 1234);
  EXPECT_EQ(stored->name(), "counter");
}

TEST(ActorDirectoryTest, UpdateKeepsPendingReasonAndExecutor) {
  ActorDirectory actors;
  auto registered = actors.Register(Actor("counter"));
  ASSERT_TRUE(registered.ok());
  proto::ActorInfo pending = *registered;
  pending.set_pending_reason("no node has GPU=64 free right now");
  ASSERT_TRUE(actors.Update(pending).ok());
  EXPECT_EQ(actors.Get(registered->actor_id())->pending_reason(),
            "no node has GPU=64 free right now");

  proto::ActorInfo alive = PlacedOn(*registered, "n1");
  alive.set_executor("thread_pool");
  alive.set_max_concurrency(4);
  ASSERT_TRUE(actors.Update(alive).ok());
  auto stored = actors.Get(registered->actor_id());
  ASSERT_TRUE(stored.ok());
  EXPECT_EQ(stored->executor(), "thread_pool");
  EXPECT_EQ(stored->max_concurrency(), 4);
  EXPECT_EQ(stored->pending_reason(), "");
}

TEST(ActorDirectoryTest, UpdateOrGetOfUnknownIdIsNotFound) {
  ActorDirectory actors;
  proto::ActorInfo ghost = Actor("ghost");
  ghost.set_actor_id("nope");
  EXPECT_EQ(actors.Update(ghost).code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(actors.Get("nope").status().code(), absl::StatusCode::kNotFound);
}

TEST(ActorDirectoryTest, MarkNodeDeadKillsOnlyLiveActorsOnThatNode) {
  ActorDirectory actors;
  auto on_n1 = actors.Register(PlacedOn(Actor("a"), "n1"));
  auto also_n1 = actors.Register(PlacedOn(Actor("b"), "n1"));
  auto on_n2 = actors.Register(PlacedOn(Actor("c"), "n2"));
  ASSERT_TRUE(on_n1.ok() && also_n1.ok() && on_n2.ok());
  proto::ActorInfo already_dead = *also_n1;
  already_dead.set_state(proto::ACTOR_DEAD);
  ASSERT_TRUE(actors.Update(already_dead).ok());

  EXPECT_EQ(actors.MarkNodeDead("n1"), 1);
  EXPECT_EQ(actors.Get(on_n1->actor_id())->state(), proto::ACTOR_DEAD);
  EXPECT_FALSE(actors.Get(on_n1->actor_id())->death_reason().empty());
  EXPECT_EQ(actors.Get(on_n2->actor_id())->state(), proto::ACTOR_ALIVE);
  EXPECT_TRUE(actors.Register(Actor("a")).ok());  // the name is free again
}

}  // namespace
}  // namespace weft::head
