#include "common/auth.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>

#include "common/ids.h"

namespace weft {
namespace {

bool IsLowerHex(const std::string& s) {
  return s.find_first_not_of("0123456789abcdef") == std::string::npos;
}

class TokenFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/weft_auth_test.XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  void WriteRaw(const std::string& path, const std::string& contents) {
    std::ofstream(path) << contents;
  }

  std::string dir_;
};

TEST_F(TokenFileTest, WrittenTokenFileHasMode0600) {
  const std::string path = dir_ + "/token";
  ASSERT_TRUE(WriteTokenFile(path, "secret").ok());
  struct stat st;
  ASSERT_EQ(stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600);
}

TEST_F(TokenFileTest, WriteReplacesAnExistingFileAndTightensItsMode) {
  const std::string path = dir_ + "/token";
  WriteRaw(path, "old-token");
  chmod(path.c_str(), 0644);
  ASSERT_TRUE(WriteTokenFile(path, "new-token").ok());
  struct stat st;
  ASSERT_EQ(stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600);
  EXPECT_EQ(*ReadTokenFile(path), "new-token");
}

TEST_F(TokenFileTest, ReadReturnsTheWrittenToken) {
  const std::string path = dir_ + "/token";
  const std::string token = GenerateToken();
  ASSERT_TRUE(WriteTokenFile(path, token).ok());
  auto read = ReadTokenFile(path);
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(*read, token);
}

TEST_F(TokenFileTest, ReadStripsSurroundingWhitespace) {
  const std::string path = dir_ + "/token";
  WriteRaw(path, "  \tabc123\r\n\n");
  auto read = ReadTokenFile(path);
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(*read, "abc123");
}

TEST_F(TokenFileTest, ReadMissingFileIsNotFound) {
  EXPECT_EQ(ReadTokenFile(dir_ + "/missing").status().code(), absl::StatusCode::kNotFound);
}

TEST_F(TokenFileTest, ReadEmptyOrBlankFileIsInvalidArgument) {
  WriteRaw(dir_ + "/empty", "");
  WriteRaw(dir_ + "/blank", " \n\n");
  EXPECT_EQ(ReadTokenFile(dir_ + "/empty").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ReadTokenFile(dir_ + "/blank").status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(GenerateTokenTest, Is64LowercaseHexCharacters) {
  const std::string token = GenerateToken();
  EXPECT_EQ(token.size(), 64u);
  EXPECT_TRUE(IsLowerHex(token)) << token;
}

TEST(GenerateTokenTest, DiffersBetweenCalls) { EXPECT_NE(GenerateToken(), GenerateToken()); }

// common/ids.h: ids share the token's random source.
TEST(RandomHexTest, GivesTwoLowercaseHexDigitsPerByte) {
  for (int bytes : {0, 1, 8, 17}) {
    const std::string hex = RandomHex(bytes);
    EXPECT_EQ(hex.size(), 2u * bytes);
    EXPECT_TRUE(IsLowerHex(hex)) << hex;
  }
}

TEST(RandomHexTest, NodeAndWorkerIdsAreFreshSixteenDigitHex) {
  const std::string node = NewNodeId(), worker = NewWorkerId();
  EXPECT_EQ(node.size(), 16u);
  EXPECT_EQ(worker.size(), 16u);
  EXPECT_NE(node, NewNodeId());
  EXPECT_NE(worker, NewWorkerId());
}

}  // namespace
}  // namespace weft
