// `weft list/get/kill/logs actor`, `weft list objects` and `weft memory` against a real
// cluster, with the actors that tests/cli_actors_driver.cc leaves behind.

#include <gmock/gmock.h>
#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>
#include <gtest/gtest.h>

#include <signal.h>
#include <sys/wait.h>

#include <filesystem>
#include <future>
#include <optional>

#include "absl/strings/match.h"
#include "absl/strings/str_join.h"
#include "common/process.h"
#include "tests/cluster_harness.h"

namespace weft::testing {
namespace {

using google::protobuf::ListValue;
using google::protobuf::Struct;
using ::testing::HasSubstr;
using ::testing::Not;

std::string Str(const Struct& s, const std::string& key) {
  const auto it = s.fields().find(key);
  return it == s.fields().end() ? "<missing " + key + ">" : it->second.string_value();
}

double Num(const Struct& s, const std::string& key) {
  const auto it = s.fields().find(key);
  return it == s.fields().end() || !it->second.has_number_value() ? -1 : it->second.number_value();
}

class CliActorsTest : public ::testing::Test {
 protected:
  // Runs the driver against the cluster with `args`; fails the test if it fails.
  void RunDriver(std::vector<std::string> args = {}) {
    args.insert(args.begin(), BinPath("cli_actors_driver"));
    const auto result = testing::Run(args, std::chrono::seconds(60),
                                     {"WEFT_SESSION_DIR=" + cluster_.head_session()});
    ASSERT_EQ(result.exit_code, 0) << result.out << "\n" << result.err;
  }

  // `weft <args> --session-dir <the cluster's>`.
  CommandResult Cli(std::vector<std::string> args,
                    std::chrono::milliseconds timeout = std::chrono::seconds(60)) {
    args.push_back("--session-dir");
    args.push_back(cluster_.head_session());
    return Weft(std::move(args), timeout);
  }

  // `weft list actors --format json <extra>`, parsed; empty (and a test failure) on error.
  ListValue ListActors(std::vector<std::string> extra = {}) {
    std::vector<std::string> args{"list", "actors", "--format", "json"};
    args.insert(args.end(), extra.begin(), extra.end());
    const auto result = Cli(args);
    ListValue list;
    EXPECT_EQ(result.exit_code, 0) << result.err;
    EXPECT_TRUE(google::protobuf::util::JsonStringToMessage(result.out, &list).ok()) << result.out;
    return list;
  }

  // The listed actor of class `class_name`.
  std::optional<Struct> ActorOf(const std::string& class_name) {
    const ListValue actors = ListActors();
    for (const auto& value : actors.values()) {
      if (Str(value.struct_value(), "class_name") == class_name) return value.struct_value();
    }
    return std::nullopt;
  }

  // Runs the driver, then waits until its job's end has shown: the Counter DEAD, the
  // Trainer PENDING for want of GPUs.
  void SetUpActors() {
    ASSERT_NO_FATAL_FAILURE(RunDriver());
    ASSERT_TRUE(WaitFor(
        [&] {
          const auto counter = ActorOf("Counter");
          const auto trainer = ActorOf("Trainer");
          return counter && Str(*counter, "state") == "DEAD" && trainer &&
                 absl::StrContains(Str(*trainer, "pending_reason"), "GPU");
        },
        std::chrono::seconds(30)))
        << Cli({"list", "actors"}).out;
  }

  // A driver that owns a 200 kB result the greeter stores (cli_actors_driver hold-blob), and
  // its job id; killed by Kill() or at the end of the test.
  struct BlobHolder {
    pid_t pid = -1;
    std::string job;
    void Kill() {
      if (pid <= 0) return;
      kill(pid, SIGKILL);
      waitpid(pid, nullptr, 0);
      pid = -1;
    }
    ~BlobHolder() { Kill(); }
  };
  void HoldBlob(BlobHolder& holder) {
    TempDir dir;
    const std::string ready = dir.Sub("ready");
    auto pid = SpawnProcess({.argv = {BinPath("cli_actors_driver"), "hold-blob", ready},
                             .extra_env = {"WEFT_SESSION_DIR=" + cluster_.head_session()}});
    ASSERT_TRUE(pid.ok()) << pid.status();
    holder.pid = *pid;
    ASSERT_TRUE(WaitFor([&] { return std::filesystem::exists(ready); }))
        << "the holding driver did not get its result stored";
    const auto jobs = Cli({"list", "jobs", "--format", "json"});
    Struct listed;  // {"jobs": [...]}
    ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(jobs.out, &listed).ok()) << jobs.out;
    for (const auto& job : listed.fields().at("jobs").list_value().values()) {
      if (Str(job.struct_value(), "state") == "JOB_RUNNING") {
        holder.job = Str(job.struct_value(), "job_id");
      }
    }
  }

  std::string IdOf(const std::string& class_name) {
    const auto actor = ActorOf(class_name);
    return actor ? Str(*actor, "actor_id") : "<no " + class_name + ">";
  }

  TestCluster cluster_{2};
};

TEST_F(CliActorsTest, ListActorsShowsStatePlacementCallsAndReasons) {
  ASSERT_NO_FATAL_FAILURE(SetUpActors());
  const auto actors = ListActors();
  EXPECT_EQ(actors.values_size(), 4);

  const auto greeter = ActorOf("Greeter");
  ASSERT_TRUE(greeter);
  EXPECT_EQ(Str(*greeter, "name"), "greeter");
  EXPECT_EQ(Str(*greeter, "state"), "ALIVE");
  EXPECT_EQ(Str(*greeter, "node_id"), cluster_.ListNodes().nodes(0).node_id());
  EXPECT_GT(Num(*greeter, "pid"), 0);
  EXPECT_EQ(Str(*greeter, "executor"), "thread_pool");
  EXPECT_GE(Num(*greeter, "max_concurrency"), 1);
  EXPECT_EQ(Num(*greeter, "running"), 0);  // asked of its worker: idle, nothing queued
  EXPECT_EQ(Num(*greeter, "queued"), 0);
  EXPECT_EQ(Num(*greeter, "num_restarts"), 0);

  const auto trainer = ActorOf("Trainer");
  ASSERT_TRUE(trainer);
  EXPECT_EQ(Str(*trainer, "state"), "PENDING");
  EXPECT_TRUE(trainer->fields().at("running").has_null_value());
  const auto counter = ActorOf("Counter");
  ASSERT_TRUE(counter);
  EXPECT_EQ(Str(*counter, "death_reason"), "its job finished");

  // Asked of the head a page at a time: one actor per page lists the same four, once each.
  const auto paged = ListActors({"--page-size", "1"});
  ASSERT_EQ(paged.values_size(), 4);
  std::set<std::string> ids;
  for (const auto& value : paged.values()) ids.insert(Str(value.struct_value(), "actor_id"));
  EXPECT_EQ(ids.size(), 4u);

  const auto table = Cli({"list", "actors"});
  ASSERT_EQ(table.exit_code, 0) << table.err;
  EXPECT_THAT(table.out, HasSubstr("ACTOR_ID"));
  EXPECT_THAT(table.out, ::testing::ContainsRegex("Trainer +trainer +PENDING .*GPU"));
  EXPECT_THAT(table.out, ::testing::ContainsRegex("Counter +- +DEAD .*its job finished"));
  EXPECT_THAT(table.out, ::testing::ContainsRegex("Greeter +greeter +ALIVE +[0-9a-f]+ +[0-9]+ "
                                                  "+thread_pool +[0-9]+ +0 +0 +0 +-\n"));
}

TEST_F(CliActorsTest, FiltersSelectActorsAndAnUnknownKeyIsAUsageError) {
  ASSERT_NO_FATAL_FAILURE(SetUpActors());
  const auto pending = ListActors({"--filter", "state=PENDING"});
  ASSERT_EQ(pending.values_size(), 1);
  EXPECT_EQ(Str(pending.values(0).struct_value(), "class_name"), "Trainer");

  const auto alive_greeters = ListActors({"--filter", "state=alive", "--filter", "class=Greeter"});
  ASSERT_EQ(alive_greeters.values_size(), 1);
  EXPECT_EQ(Str(alive_greeters.values(0).struct_value(), "name"), "greeter");
  EXPECT_EQ(ListActors({"--filter", "state=DEAD", "--filter", "class=Greeter"}).values_size(), 0);
  EXPECT_EQ(ListActors({"--filter", "name=chatter"}).values_size(), 1);

  const auto bad = Cli({"list", "actors", "--filter", "colour=red"});
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_THAT(bad.err, HasSubstr("unknown filter key 'colour'"));
}

TEST_F(CliActorsTest, GetActorByIdPrefixOrNameShowsEveryField) {
  ASSERT_NO_FATAL_FAILURE(SetUpActors());
  const std::string id = IdOf("Greeter");
  const auto by_prefix = Cli({"get", "actor", id.substr(0, 10)});
  ASSERT_EQ(by_prefix.exit_code, 0) << by_prefix.err;
  EXPECT_THAT(by_prefix.out, HasSubstr("actor_id:        " + id + "\n"));
  EXPECT_THAT(by_prefix.out, ::testing::ContainsRegex("class_name: +Greeter\n"));
  EXPECT_THAT(by_prefix.out, ::testing::ContainsRegex("state: +ALIVE\n"));
  EXPECT_THAT(by_prefix.out, ::testing::ContainsRegex("detached: +true\n"));

  const auto by_name = Cli({"get", "actor", "--name", "trainer", "--format", "json"});
  ASSERT_EQ(by_name.exit_code, 0) << by_name.err;
  Struct trainer;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(by_name.out, &trainer).ok());
  EXPECT_EQ(Str(trainer, "state"), "PENDING");
  EXPECT_THAT(Str(trainer, "pending_reason"), HasSubstr("GPU"));
  EXPECT_EQ(trainer.fields().at("resources").struct_value().fields().at("GPU").number_value(), 64);

  const auto unknown = Cli({"get", "actor", "ffffffffffffffff"});
  EXPECT_EQ(unknown.exit_code, 1);
  EXPECT_THAT(unknown.err, HasSubstr("actor ffffffffffffffff not found"));
  EXPECT_EQ(Cli({"get", "actor"}).exit_code, 2);  // neither an id nor --name
}

TEST_F(CliActorsTest, LogsShowOnlyTheActorsOwnLines) {
  ASSERT_NO_FATAL_FAILURE(SetUpActors());
  const auto greeter = Cli({"logs", "actor", IdOf("Greeter")});
  ASSERT_EQ(greeter.exit_code, 0) << greeter.err;
  EXPECT_THAT(greeter.out, ::testing::ContainsRegex("\\(Greeter pid=[0-9]+\\) hello cli\n"));
  EXPECT_THAT(greeter.out, Not(HasSubstr("chatter noise")));

  const auto chatter = Cli({"logs", "actor", "--name", "chatter"});
  ASSERT_EQ(chatter.exit_code, 0) << chatter.err;
  EXPECT_THAT(chatter.out, HasSubstr("chatter noise"));
  EXPECT_THAT(chatter.out, Not(HasSubstr("hello cli")));

  const auto pending = Cli({"logs", "actor", IdOf("Trainer")});
  EXPECT_EQ(pending.exit_code, 1);
  EXPECT_THAT(pending.err, HasSubstr("is PENDING and has no worker yet"));
}

TEST_F(CliActorsTest, LogsFollowPrintsNewLinesAndEndsWhenTheActorDies) {
  ASSERT_NO_FATAL_FAILURE(SetUpActors());
  const std::string id = IdOf("Greeter");
  auto follow = std::async(std::launch::async, [&] {
    return Cli({"logs", "actor", id, "--follow"}, std::chrono::seconds(45));
  });
  ASSERT_NO_FATAL_FAILURE(RunDriver({"say", "again"}));
  const auto killed = Cli({"kill", "actor", id});
  ASSERT_EQ(killed.exit_code, 0) << killed.err;

  const auto followed = follow.get();  // returns once it has seen the actor DEAD
  EXPECT_EQ(followed.exit_code, 0) << followed.err;
  EXPECT_THAT(followed.out, HasSubstr("hello cli\n"));
  EXPECT_THAT(followed.out, HasSubstr("hello again\n"));
  EXPECT_THAT(followed.out, Not(HasSubstr("chatter noise")));
  EXPECT_THAT(followed.err, HasSubstr("is DEAD"));
}

TEST_F(CliActorsTest, KillActorPrintsItsFinalState) {
  ASSERT_NO_FATAL_FAILURE(SetUpActors());
  const std::string id = IdOf("Chatter");
  const auto killed = Cli({"kill", "actor", id});
  ASSERT_EQ(killed.exit_code, 0) << killed.err;
  EXPECT_THAT(killed.out, HasSubstr("actor " + id + " (Chatter) is now DEAD"));
  const auto chatter = ActorOf("Chatter");
  ASSERT_TRUE(chatter);
  EXPECT_EQ(Str(*chatter, "state"), "DEAD");
  EXPECT_THAT(Str(*chatter, "death_reason"), HasSubstr("weft kill"));

  const auto again = Cli({"kill", "actor", id});
  EXPECT_EQ(again.exit_code, 0) << again.err;
  EXPECT_THAT(again.out, HasSubstr("was already DEAD"));

  const auto unknown = Cli({"kill", "actor", "0123456789abcdef"});
  EXPECT_EQ(unknown.exit_code, 1);
  EXPECT_THAT(unknown.err, HasSubstr("actor 0123456789abcdef not found"));
}

// A result its owner (a driver) holds is listed with its size, owning job, what holds it (the
// driver's reference and the greeter that keeps one) and location; once that driver is
// killed, nobody can ask for it again, and it goes.
TEST_F(CliActorsTest, ListObjectsShowsAStoredResultWithItsOwnerAndLocation) {
  ASSERT_NO_FATAL_FAILURE(SetUpActors());
  const auto greeter = ActorOf("Greeter");
  ASSERT_TRUE(greeter);
  BlobHolder holder;
  ASSERT_NO_FATAL_FAILURE(HoldBlob(holder));

  const auto json = Cli({"list", "objects", "--format", "json"});
  ASSERT_EQ(json.exit_code, 0) << json.err;
  ListValue objects;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(json.out, &objects).ok()) << json.out;
  ASSERT_EQ(objects.values_size(), 1) << json.out;  // the 200 kB blob; small results are inline
  const Struct& blob = objects.values(0).struct_value();
  EXPECT_GE(Num(blob, "size_bytes"), 200 * 1000);
  EXPECT_EQ(Str(blob, "owner"), holder.job);
  const auto& locations = blob.fields().at("locations").list_value();
  ASSERT_EQ(locations.values_size(), 1);
  EXPECT_EQ(Str(locations.values(0).struct_value(), "address"), Str(*greeter, "address"));
  EXPECT_FALSE(blob.fields().at("spilled").bool_value());
  ASSERT_TRUE(blob.fields().at("references").has_struct_value()) << json.out;
  const Struct& held = blob.fields().at("references").struct_value();
  EXPECT_EQ(Num(held, "local"), 1) << json.out;  // the driver's ObjectRef
  EXPECT_EQ(Num(held, "calls"), 0) << json.out;
  const auto& borrowers = held.fields().at("borrowers").list_value();
  ASSERT_EQ(borrowers.values_size(), 1) << json.out;
  EXPECT_EQ(borrowers.values(0).string_value(), Str(*greeter, "address"));

  const auto table = Cli({"list", "objects"});
  ASSERT_EQ(table.exit_code, 0) << table.err;
  EXPECT_THAT(table.out, HasSubstr(Str(blob, "object_id")));
  EXPECT_THAT(table.out, HasSubstr("KiB"));
  EXPECT_THAT(table.out, HasSubstr(Str(*greeter, "address")));
  EXPECT_THAT(table.out, ::testing::ContainsRegex(Str(blob, "object_id") + " .* 1 +0 +1 +no "));

  holder.Kill();
  EXPECT_TRUE(WaitFor([&] {
    return Cli({"list", "objects"}).out.find(Str(blob, "object_id")) == std::string::npos;
  })) << "the dead driver's result is still listed";
}

TEST_F(CliActorsTest, MemoryShowsEachNodesStoreAndTheStoredResult) {
  ASSERT_NO_FATAL_FAILURE(SetUpActors());
  const auto greeter = ActorOf("Greeter");
  ASSERT_TRUE(greeter);
  BlobHolder holder;
  ASSERT_NO_FATAL_FAILURE(HoldBlob(holder));

  const auto json = Cli({"memory", "--format", "json"});
  ASSERT_EQ(json.exit_code, 0) << json.err;
  Struct memory;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(json.out, &memory).ok()) << json.out;
  const auto& nodes = memory.fields().at("nodes").list_value();
  ASSERT_EQ(nodes.values_size(), 1) << json.out;  // the head's node
  EXPECT_EQ(Str(nodes.values(0).struct_value(), "node_id"), Str(*greeter, "node_id"));
  EXPECT_GT(Num(nodes.values(0).struct_value(), "capacity_bytes"), 0);
  const auto& objects = memory.fields().at("objects").list_value();
  ASSERT_EQ(objects.values_size(), 1) << json.out;  // the 200 kB blob; small results are inline
  const Struct& blob = objects.values(0).struct_value();
  EXPECT_EQ(Str(blob, "owner"), holder.job);
  EXPECT_EQ(Num(memory, "stored_objects"), 1);
  EXPECT_EQ(Num(memory, "stored_bytes"), Num(blob, "size_bytes"));

  const auto table = Cli({"memory"});
  ASSERT_EQ(table.exit_code, 0) << table.err;
  EXPECT_THAT(table.out, HasSubstr(Str(*greeter, "node_id")));
  EXPECT_THAT(table.out, HasSubstr("Largest objects (1 of 1):"));
  EXPECT_THAT(table.out, HasSubstr(Str(blob, "object_id")));
  EXPECT_THAT(table.out, HasSubstr("1 object stored, "));
}

TEST_F(CliActorsTest, EveryCommandFailsClearlyWhenTheHeadIsGone) {
  const std::string head = cluster_.head_address();
  ASSERT_EQ(cluster_.StopSession(cluster_.head_session()).exit_code, 0);
  for (std::vector<std::string> args : {std::vector<std::string>{"list", "actors"},
                                        {"list", "objects"},
                                        {"get", "actor", "ab"},
                                        {"kill", "actor", "ab"},
                                        {"logs", "actor", "ab"},
                                        {"memory"}}) {
    const auto result = Cli(args);
    EXPECT_EQ(result.exit_code, 1) << absl::StrJoin(args, " ");
    EXPECT_THAT(result.err, HasSubstr("cannot reach the head at " + head)) << args[0];
  }
}

}  // namespace
}  // namespace weft::testing
