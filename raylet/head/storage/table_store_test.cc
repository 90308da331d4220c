// The head's embedded store keeps what it was given across reopening, and refuses a damaged file
// with an error that names it instead of starting empty. The Redis store is held by one head at
// a time, and a head whose lease another took writes nothing more.

#include <gtest/gtest.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include <hiredis/hiredis.h>

#include <atomic>

#include "absl/strings/match.h"
#include "raylet/head/storage/table_store.h"
#include "tests/redis_server.h"

namespace weft::head {
namespace {

class SqliteStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char dir[] = "/tmp/weft-store-test-XXXXXX";
    ASSERT_NE(mkdtemp(dir), nullptr);
    dir_ = dir;
    path_ = dir_ + "/head.db";
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::unique_ptr<TableStore> Open() {
    auto store = OpenSqliteStore(path_);
    EXPECT_TRUE(store.ok()) << store.status();
    return store.ok() ? *std::move(store) : nullptr;
  }

  std::string dir_;
  std::string path_;
};

TEST_F(SqliteStoreTest, RowsWrittenAreThereAfterReopening) {
  {
    auto store = Open();
    ASSERT_TRUE(store);
    ASSERT_TRUE(store
                    ->Apply({{"actors", "a1", "spec one"},
                             {"actors", "a2", std::string("bytes\0inside", 12)},
                             {"jobs", "j1", "job"}})
                    .ok());
    ASSERT_TRUE(store->Apply({{"actors", "a1", std::nullopt}, {"actors", "a3", "three"}}).ok());
  }
  auto store = Open();
  ASSERT_TRUE(store);
  auto actors = store->Load("actors");
  ASSERT_TRUE(actors.ok()) << actors.status();
  EXPECT_EQ(*actors, (TableStore::Rows{{"a2", std::string("bytes\0inside", 12)}, {"a3", "three"}}));
  auto jobs = store->Load("jobs");
  ASSERT_TRUE(jobs.ok());
  EXPECT_EQ(*jobs, (TableStore::Rows{{"j1", "job"}}));
  EXPECT_TRUE(store->Load("nodes")->empty());
}

// Durable once Apply returns: a head killed right after acknowledging keeps the change.
TEST_F(SqliteStoreTest, AChangeIsKeptWhenTheProcessIsKilledRightAfterApply) {
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    auto store = OpenSqliteStore(path_);
    if (store.ok() && (*store)->Apply({{"jobs", "j1", "acknowledged"}}).ok()) raise(SIGKILL);
    _exit(1);
  }
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) << "the child could not write";
  auto store = Open();
  ASSERT_TRUE(store);
  auto jobs = store->Load("jobs");
  ASSERT_TRUE(jobs.ok()) << jobs.status();
  EXPECT_EQ(*jobs, (TableStore::Rows{{"j1", "acknowledged"}}));
}

TEST_F(SqliteStoreTest, AFileThatIsNotAStoreIsRefusedNamingIt) {
  std::ofstream(path_) << std::string(8192, 'x');
  auto store = OpenSqliteStore(path_);
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_NE(store.status().message().find(path_), std::string::npos) << store.status();
  EXPECT_EQ(std::filesystem::file_size(path_), 8192u) << "the damaged file was changed";
}

TEST_F(SqliteStoreTest, ATruncatedStoreIsRefused) {
  {
    auto store = Open();
    ASSERT_TRUE(store);
    std::vector<TableStore::Change> rows;
    for (int i = 0; i < 2000; ++i) {
      rows.push_back({"actors", "actor-" + std::to_string(i), std::string(200, 'v')});
    }
    ASSERT_TRUE(store->Apply(rows).ok());
  }
  const auto size = std::filesystem::file_size(path_);
  ASSERT_GT(size, 100'000u);
  std::filesystem::resize_file(path_, size / 2);
  auto store = OpenSqliteStore(path_);
  ASSERT_FALSE(store.ok()) << "a store cut in half opened";
  EXPECT_EQ(store.status().code(), absl::StatusCode::kDataLoss) << store.status();
}

TEST_F(SqliteStoreTest, AnEmptyFileIsRefusedNotTakenForANewStore) {
  std::ofstream(path_).flush();
  auto store = OpenSqliteStore(path_);
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), absl::StatusCode::kDataLoss);
}

class RedisStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!testing::RedisServer::Installed()) {
      GTEST_SKIP() << "redis-server is not installed (scripts/install-deps.sh installs it)";
    }
    char dir[] = "/tmp/weft-redis-test-XXXXXX";
    ASSERT_NE(mkdtemp(dir), nullptr);
    dir_ = dir;
    redis_ = std::make_unique<testing::RedisServer>(dir_);
    ASSERT_TRUE(redis_->ready());
    admin_ = redisConnect("127.0.0.1", redis_->port());
    ASSERT_TRUE(admin_ && !admin_->err);
  }
  void TearDown() override {
    if (admin_) redisFree(admin_);
    redis_.reset();
    if (!dir_.empty()) std::filesystem::remove_all(dir_);
  }

  absl::StatusOr<std::unique_ptr<TableStore>> Open(const std::string& session) {
    return OpenRedisStore(redis_->url(), "", "",
                          {.session_dir = session, .on_lost = [this](absl::Status) { ++lost_; }});
  }
  // A command sent as another client would; its reply as text ("" for nil).
  std::string Admin(const std::vector<std::string>& args) {
    std::vector<const char*> argv;
    std::vector<size_t> lengths;
    for (const auto& arg : args) {
      argv.push_back(arg.data());
      lengths.push_back(arg.size());
    }
    auto* reply = static_cast<redisReply*>(
        redisCommandArgv(admin_, static_cast<int>(argv.size()), argv.data(), lengths.data()));
    if (!reply) return "no reply";
    std::string text =
        reply->str ? std::string(reply->str, reply->len) : std::to_string(reply->integer);
    if (reply->type == REDIS_REPLY_NIL) text.clear();
    freeReplyObject(reply);
    return text;
  }

  std::string dir_;
  std::unique_ptr<testing::RedisServer> redis_;
  redisContext* admin_ = nullptr;
  std::atomic<int> lost_ = 0;
};

TEST_F(RedisStoreTest, RowsAreReadBackAndASecondHeadIsRefusedNamingTheFirst) {
  auto first = Open("/sessions/first");
  ASSERT_TRUE(first.ok()) << first.status();
  ASSERT_TRUE((*first)->Apply({{"jobs", "j1", "one"}}).ok());
  auto rows = (*first)->Load("jobs");
  ASSERT_TRUE(rows.ok()) << rows.status();
  EXPECT_EQ(*rows, (TableStore::Rows{{"j1", "one"}}));
  // Waits out the lease plus slack (~7 s): the first keeps renewing it.
  auto second = Open("/sessions/second");
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(absl::StrContains(second.status().message(), "session dir /sessions/first"))
      << second.status();
  EXPECT_TRUE((*first)->Apply({{"jobs", "j2", "two"}}).ok()) << "the refused head took it";
  EXPECT_EQ(lost_, 0);
}

TEST_F(RedisStoreTest, AHeadWhoseLeaseAnotherTookWritesNothingMoreAndSaysSoOnce) {
  auto store = Open("/sessions/first");
  ASSERT_TRUE(store.ok()) << store.status();
  Admin({"SET", "weft:owner", "elsewhere/ns|4242|otherhost|/sessions/other|99"});
  const auto refused = (*store)->Apply({{"jobs", "j1", "one"}});
  EXPECT_EQ(refused.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(absl::StrContains(refused.message(), "pid 4242 on otherhost")) << refused;
  EXPECT_FALSE((*store)->Apply({{"jobs", "j2", "two"}}).ok());
  EXPECT_EQ(Admin({"HGET", "weft:jobs", "j1"}), "");
  EXPECT_EQ(lost_, 1);
}

TEST_F(RedisStoreTest, ALeaseThatRanOutIsTakenBackOnlyWhenNoOtherHeadHeldItMeanwhile) {
  auto store = Open("/sessions/first");
  ASSERT_TRUE(store.ok()) << store.status();
  const std::string lease = Admin({"GET", "weft:owner"});
  ASSERT_FALSE(lease.empty());
  Admin({"DEL", "weft:owner"});  // ran out, Redis cut off from the head a while
  EXPECT_TRUE((*store)->Apply({{"jobs", "j1", "one"}}).ok());
  EXPECT_EQ(Admin({"GET", "weft:owner"}), lease);
  Admin({"DEL", "weft:owner"});
  Admin({"INCR", "weft:owner-epoch"});  // another head held it, and left
  EXPECT_FALSE((*store)->Apply({{"jobs", "j2", "two"}}).ok());
  EXPECT_EQ(Admin({"HGET", "weft:jobs", "j2"}), "");
  EXPECT_EQ(lost_, 1);
}

TEST_F(RedisStoreTest, AStoreClosedGivesItsLeaseBack) {
  {
    auto store = Open("/sessions/first");
    ASSERT_TRUE(store.ok()) << store.status();
    EXPECT_FALSE(Admin({"GET", "weft:owner"}).empty());
  }
  EXPECT_EQ(Admin({"GET", "weft:owner"}), "") << "the next head would wait for it to run out";
  EXPECT_TRUE(Open("/sessions/second").ok());
}

}  // namespace
}  // namespace weft::head
