#include "common/actor_listing.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace weft {
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

std::vector<ActorFilterTerm> Filters(std::initializer_list<const char*> texts) {
  std::vector<ActorFilterTerm> filters;
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

// A head of `ids` (sorted) that answers pages as the real one does: ids after the token.
ActorPageCall PagedHead(std::vector<std::string> ids, int* asked) {
  return [ids = std::move(ids), asked](const proto::ListActorsRequest& request,
                                       proto::ListActorsReply* reply) {
    ++*asked;
    for (const auto& id : ids) {
      if (id <= request.page_token()) continue;
      if (reply->actors_size() == request.page_size()) {
        reply->set_next_page_token(reply->actors().rbegin()->actor_id());
        break;
      }
      *reply->add_actors() = Actor(id, id < "c" ? "Counter" : "Greeter", proto::ACTOR_ALIVE);
    }
    return absl::OkStatus();
  };
}

TEST(ListAllActorsTest, ReadsEveryPageInOrder) {
  int asked = 0;
  auto actors = ListAllActors(PagedHead({"a1", "a2", "b1", "c1", "c2"}, &asked), 2);
  ASSERT_TRUE(actors.ok()) << actors.status();
  std::vector<std::string> ids;
  for (const auto& actor : *actors) ids.push_back(actor.actor_id());
  EXPECT_THAT(ids, ::testing::ElementsAre("a1", "a2", "b1", "c1", "c2"));
  EXPECT_EQ(asked, 3);
}

TEST(ListAllActorsTest, KeepsOnlyWhatPassesTheTerms) {
  int asked = 0;
  auto actors =
      ListAllActors(PagedHead({"a1", "b1", "c1", "d1"}, &asked), 1, Filters({"class=Greeter"}));
  ASSERT_TRUE(actors.ok()) << actors.status();
  ASSERT_EQ(actors->size(), 2u);
  EXPECT_EQ((*actors)[0].actor_id(), "c1");
  EXPECT_EQ((*actors)[1].actor_id(), "d1");
}

TEST(ListAllActorsTest, AFailingPageIsTheAnswer) {
  auto actors =
      ListAllActors([](const proto::ListActorsRequest&,
                       proto::ListActorsReply*) { return absl::UnavailableError("head gone"); },
                    10);
  ASSERT_FALSE(actors.ok());
  EXPECT_EQ(actors.status(), absl::UnavailableError("head gone"));
}

TEST(ListAllActorsTest, APageTokenThatDoesNotMoveOnIsAnErrorNotALoop) {
  int asked = 0;
  auto actors = ListAllActors(
      [&asked](const proto::ListActorsRequest&, proto::ListActorsReply* reply) {
        ++asked;
        reply->set_next_page_token("same");
        return absl::OkStatus();
      },
      10);
  ASSERT_FALSE(actors.ok());
  EXPECT_EQ(actors.status().code(), absl::StatusCode::kInternal);
  EXPECT_EQ(asked, 2);
}

}  // namespace
}  // namespace weft
