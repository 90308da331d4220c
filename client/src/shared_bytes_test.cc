// FileWriter: a file of shared memory written a piece at a time, seen whole or not at all.

#include "client/src/shared_bytes.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace weft::internal {
namespace {

class FileWriterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char dir[] = "/tmp/weft-file-writer-test-XXXXXX";
    ASSERT_NE(mkdtemp(dir), nullptr);
    dir_ = dir;
    path_ = dir_ + "/value";
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  // The names in the folder: nothing but the file once committed, nothing before.
  size_t Entries() const {
    return static_cast<size_t>(std::distance(std::filesystem::directory_iterator(dir_),
                                             std::filesystem::directory_iterator()));
  }
  std::string Read() const {
    std::ifstream in(path_);
    std::stringstream bytes;
    bytes << in.rdbuf();
    return bytes.str();
  }

  std::string dir_;
  std::string path_;
};

TEST_F(FileWriterTest, TheFileAppearsWholeAtCommit) {
  auto writer = FileWriter::Create(path_, 10);
  ASSERT_TRUE(writer.ok()) << writer.status();
  ASSERT_TRUE((*writer)->Append("01234").ok());
  ASSERT_TRUE((*writer)->Append("56789").ok());
  EXPECT_FALSE(std::filesystem::exists(path_)) << "readers would see part of it";
  ASSERT_TRUE((*writer)->Commit().ok());
  writer->reset();
  EXPECT_EQ(Read(), "0123456789");
  EXPECT_EQ(Entries(), 1u);
}

TEST_F(FileWriterTest, AFileNotWhollyWrittenIsNeverCommittedAndGoesWithItsWriter) {
  auto writer = FileWriter::Create(path_, 10);
  ASSERT_TRUE(writer.ok()) << writer.status();
  ASSERT_TRUE((*writer)->Append("01234").ok());
  EXPECT_FALSE((*writer)->Append("567890").ok()) << "more than its size";
  EXPECT_EQ((*writer)->ReadBack().value_or(""), "01234");
  EXPECT_FALSE((*writer)->Commit().ok());
  writer->reset();
  EXPECT_FALSE(std::filesystem::exists(path_));
  EXPECT_EQ(Entries(), 0u) << "the part written stayed";
}

TEST_F(FileWriterTest, ACommitNeverReplacesAFileAlreadyThere) {
  ASSERT_TRUE(WriteFile(path_, "first").ok());
  ASSERT_TRUE(WriteFile(path_, "again").ok());  // the same id's bytes: already there
  EXPECT_EQ(Read(), "first");
  EXPECT_EQ(Entries(), 1u);
}

TEST_F(FileWriterTest, AFolderThatIsNotThereIsAClearError) {
  const auto writer = FileWriter::Create(dir_ + "/missing/value", 10);
  ASSERT_FALSE(writer.ok());
  EXPECT_EQ(writer.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_NE(writer.status().message().find("missing"), std::string::npos);
}

}  // namespace
}  // namespace weft::internal
