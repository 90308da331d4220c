#include "cli/actor_filter.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace weft::cli {
namespace {

using ::testing::HasSubstr;

proto::ActorInfo Actor(const std::string& id, const std::string& cls, proto::ActorState state) {
  proto::ActorInfo actor;
  actor.set_actor_id(id);
  actor.set_class_name(cls);
  actor.set_state(state);
  actor.set_name(cls == "Counter" ? "counter" : "");
  actor.set_node_id("nnnn1111");
  actor.set_job_id("job-1");
  return actor;
}

std::vector<ActorFilter> Filters(std::initializer_list<const char*> texts) {
  std::vector<ActorFilter> filters;
  for (const char* text : texts) {
    auto filter = ParseActorFilter(text);
    EXPECT_TRUE(filter.ok()) << filter.status();
    if (filter.ok()) filters.push_back(*filter);
  }
  return filters;
}

TEST(ParseActorFilterTest, SplitsKeyAndValue) {
  auto filter = ParseActorFilter("class=Counter");
  ASSERT_TRUE(filter.ok());
  EXPECT_EQ(filter->key, "class");
  EXPECT_EQ(filter->value, "Counter");
}

TEST(ParseActorFilterTest, StateIsCaseInsensitive) {
  auto filter = ParseActorFilter("state=pending");
  ASSERT_TRUE(filter.ok());
  EXPECT_EQ(filter->value, "PENDING");
}

TEST(ParseActorFilterTest, ValueMayContainEquals) {
  auto filter = ParseActorFilter("name=a=b");
  ASSERT_TRUE(filter.ok());
  EXPECT_EQ(filter->value, "a=b");
}

TEST(ParseActorFilterTest, UnknownKeyNamesTheKnownKeys) {
  auto filter = ParseActorFilter("colour=red");
  ASSERT_FALSE(filter.ok());
  EXPECT_EQ(filter.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(filter.status().message(), HasSubstr("unknown filter key 'colour'"));
  EXPECT_THAT(filter.status().message(), HasSubstr("state, class, name, node, job"));
}

TEST(ParseActorFilterTest, UnknownStateIsRejected) {
  auto filter = ParseActorFilter("state=SLEEPING");
  ASSERT_FALSE(filter.ok());
  EXPECT_THAT(filter.status().message(), HasSubstr("unknown actor state 'SLEEPING'"));
}

TEST(ParseActorFilterTest, MissingKeyOrValueIsRejected) {
  for (const char* text : {"state", "=ALIVE", "state=", ""}) {
    EXPECT_FALSE(ParseActorFilter(text).ok()) << text;
  }
}

TEST(MatchesAllTest, NoFiltersMatchEverything) {
  EXPECT_TRUE(MatchesAll({}, Actor("a1", "Counter", proto::ACTOR_ALIVE)));
}

TEST(MatchesAllTest, EachKeySelectsItsField) {
  const auto actor = Actor("a1", "Counter", proto::ACTOR_ALIVE);
  EXPECT_TRUE(MatchesAll(Filters({"state=ALIVE"}), actor));
  EXPECT_FALSE(MatchesAll(Filters({"state=DEAD"}), actor));
  EXPECT_TRUE(MatchesAll(Filters({"class=Counter"}), actor));
  EXPECT_FALSE(MatchesAll(Filters({"class=counter"}), actor));
  EXPECT_TRUE(MatchesAll(Filters({"name=counter"}), actor));
  EXPECT_TRUE(MatchesAll(Filters({"node=nnnn"}), actor));  // a node id prefix
  EXPECT_FALSE(MatchesAll(Filters({"node=mmmm"}), actor));
  EXPECT_TRUE(MatchesAll(Filters({"job=job-1"}), actor));
  EXPECT_FALSE(MatchesAll(Filters({"job=job-2"}), actor));
}

TEST(MatchesAllTest, SeveralFiltersAndTogether) {
  const auto filters = Filters({"state=ALIVE", "class=Counter"});
  EXPECT_TRUE(MatchesAll(filters, Actor("a1", "Counter", proto::ACTOR_ALIVE)));
  EXPECT_FALSE(MatchesAll(filters, Actor("a2", "Counter", proto::ACTOR_DEAD)));
  EXPECT_FALSE(MatchesAll(filters, Actor("a3", "Greeter", proto::ACTOR_ALIVE)));
}

TEST(SelectByIdPrefixTest, ExactIdWinsOverLongerIdsWithThatPrefix) {
  const std::vector<proto::ActorInfo> actors = {Actor("ab12", "A", proto::ACTOR_ALIVE),
                                                Actor("ab", "B", proto::ACTOR_ALIVE)};
  auto found = SelectByIdPrefix(actors, "ab");
  ASSERT_TRUE(found.ok());
  EXPECT_EQ(found->class_name(), "B");
}

TEST(SelectByIdPrefixTest, UniquePrefixSelectsItsActor) {
  const std::vector<proto::ActorInfo> actors = {Actor("ab12", "A", proto::ACTOR_ALIVE),
                                                Actor("cd34", "B", proto::ACTOR_ALIVE)};
  auto found = SelectByIdPrefix(actors, "cd");
  ASSERT_TRUE(found.ok());
  EXPECT_EQ(found->actor_id(), "cd34");
}

TEST(SelectByIdPrefixTest, AmbiguousPrefixListsTheCandidates) {
  const std::vector<proto::ActorInfo> actors = {Actor("ab12", "A", proto::ACTOR_ALIVE),
                                                Actor("ab34", "B", proto::ACTOR_ALIVE)};
  auto found = SelectByIdPrefix(actors, "ab");
  ASSERT_FALSE(found.ok());
  EXPECT_EQ(found.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(found.status().message(), HasSubstr("ab12, ab34"));
}

TEST(SelectByIdPrefixTest, UnknownIdIsNotFound) {
  auto found = SelectByIdPrefix({Actor("ab12", "A", proto::ACTOR_ALIVE)}, "zz");
  ASSERT_FALSE(found.ok());
  EXPECT_EQ(found.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(found.status().message(), "actor zz not found");
  EXPECT_FALSE(SelectByIdPrefix({Actor("ab12", "A", proto::ACTOR_ALIVE)}, "").ok());
}

}  // namespace
}  // namespace weft::cli
