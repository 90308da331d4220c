// The head's embedded store keeps what it was given across reopening, and refuses a damaged file
// with an error that names it instead of starting empty.

#include <gtest/gtest.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "raylet/head/storage/table_store.h"

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

}  // namespace
}  // namespace weft::head
