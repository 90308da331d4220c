// Locked folders of shared memory: only abandoned ones are swept, and only by their exact names.

#include "common/shared_memory.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>

namespace weft {
namespace {

class LockedDirTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char path[] = "/tmp/weft-shm-test-XXXXXX";
    ASSERT_NE(mkdtemp(path), nullptr);
    root_ = path;
  }
  void TearDown() override { std::filesystem::remove_all(root_); }
  std::string root_;
};

TEST_F(LockedDirTest, AHeldFolderStaysAndAnAbandonedOneGoes) {
  const std::string path = root_ + "/driver-0123456789abcdef";
  auto fd = CreateLockedDir(path);
  ASSERT_TRUE(fd.ok()) << fd.status();
  EXPECT_FALSE(RemoveIfAbandoned(path));
  EXPECT_TRUE(std::filesystem::is_directory(path));
  close(*fd);  // as its process ending, however it ends
  EXPECT_TRUE(RemoveIfAbandoned(path));
  EXPECT_FALSE(std::filesystem::exists(path));
}

TEST_F(LockedDirTest, AFolderOfThatNameIsNeverReplaced) {
  const std::string path = root_ + "/driver-0123456789abcdef";
  std::filesystem::create_directory(path);
  struct stat before {
  }, after{};
  ASSERT_EQ(stat(path.c_str(), &before), 0);
  EXPECT_FALSE(CreateLockedDir(path).ok());
  ASSERT_EQ(stat(path.c_str(), &after), 0);
  EXPECT_EQ(before.st_ino, after.st_ino) << "the folder was replaced";
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(root_),
                          std::filesystem::directory_iterator()),
            1)
      << "the folder made aside was left";
}

TEST_F(LockedDirTest, OnlyIdFoldersAndOldUnfinishedOnesAreSweepable) {
  EXPECT_TRUE(Sweepable(root_ + "/weft-node-0123456789abcdef", "weft-node-"));
  EXPECT_FALSE(Sweepable(root_ + "/weft-node-0123456789ABCDEF", "weft-node-"));
  EXPECT_FALSE(Sweepable(root_ + "/weft-node-0123", "weft-node-"));
  EXPECT_FALSE(Sweepable(root_ + "/weft-1000", "weft-node-"));  // a session folder
  const std::string building = root_ + "/weft-node-0123456789abcdef.new-01234567";
  std::filesystem::create_directory(building);
  EXPECT_FALSE(Sweepable(building, "weft-node-")) << "its maker may still be at work";
  std::filesystem::last_write_time(
      building, std::filesystem::file_time_type::clock::now() - std::chrono::minutes(2));
  EXPECT_TRUE(Sweepable(building, "weft-node-"));
}

}  // namespace
}  // namespace weft
