#include "common/auth.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>

#include "common/ids.h"

namespace weft {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

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
  WriteRaw(path, "old-token-0123456789");
  chmod(path.c_str(), 0644);
  ASSERT_TRUE(WriteTokenFile(path, "new-token-0123456789").ok());
  struct stat st;
  ASSERT_EQ(stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600);
  EXPECT_EQ(*ReadTokenFile(path), "new-token-0123456789");
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
  WriteRaw(path, "  \tabc123abc123abc123\r\n\n");
  auto read = ReadTokenFile(path);
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(*read, "abc123abc123abc123");
}

// A token travels as gRPC metadata: one that cannot (gRPC aborts the process on it) is refused
// where it is read, naming where it came from.
TEST_F(TokenFileTest, ATokenMetadataCannotCarryIsRefusedNamingTheFile) {
  const std::string path = dir_ + "/token";
  for (const std::string bad :
       {std::string("short"), std::string(20, 'a') + " b", std::string(20, 'a') + "\x01",
        std::string(20, 'a') + "\xc3\xa9", std::string(300, 'a')}) {
    WriteRaw(path, bad);
    const auto read = ReadTokenFile(path);
    EXPECT_EQ(read.status().code(), absl::StatusCode::kInvalidArgument) << bad;
    EXPECT_THAT(read.status().message(), HasSubstr(path));
  }
  EXPECT_TRUE(CheckToken(GenerateToken(), "made").ok());
  // Nor is such a token taken from a rotation (a fuzzed AdoptToken made every later call abort).
  EXPECT_EQ(
      AdoptTokenRotation(GenerateToken(), {.to = std::string(40, 'a') + "\n"}).status().code(),
      absl::StatusCode::kInvalidArgument);
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

// Rotations are process-wide: each case rotates tokens of its own.
TEST(TokenRotationTest, BothTokensAreAcceptedDuringTheGraceAndTheNewOneIsSentFromItsHalf) {
  const std::string a = GenerateToken(), b = GenerateToken();
  const absl::Time now = absl::Now();
  AdoptTokenRotation(
      a, {.to = b, .send_at = now + absl::Hours(1), .refuse_old_at = now + absl::Hours(2)});
  EXPECT_EQ(SendableToken(a), a);  // peers may not know b yet
  EXPECT_EQ(TokenAuth(a).Accepted(), (std::vector<std::string>{b, a}));
  const TokenState state = TokenStateOf(a);
  EXPECT_EQ(state.token, a);
  ASSERT_TRUE(state.rotation.has_value());
  EXPECT_EQ(state.rotation->to, b);
  // Told again with earlier times (a head's own node): the earliest stands.
  AdoptTokenRotation(
      a, {.to = b, .send_at = now - absl::Seconds(1), .refuse_old_at = now + absl::Hours(3)});
  EXPECT_EQ(SendableToken(a), b);
  EXPECT_EQ(TokenStateOf(a).rotation->refuse_old_at, now + absl::Hours(2));
  // A token replaced once never comes back (a loop has no newest token: a fuzzed AdoptToken
  // made one, and the process had no token left to send).
  EXPECT_EQ(AdoptTokenRotation(b, {.to = a, .send_at = now, .refuse_old_at = now}).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(TokenAuth(a).Accepted(), (std::vector<std::string>{b, a}));
  // A token nobody rotated is left alone.
  const std::string c = GenerateToken();
  EXPECT_EQ(SendableToken(c), c);
  EXPECT_EQ(TokenAuth(c).Accepted(), std::vector<std::string>{c});
}

TEST(TokenRotationTest, AfterTheGraceOnlyTheNewestTokenIsAcceptedAlongAChain) {
  const std::string a = GenerateToken(), b = GenerateToken(), c = GenerateToken();
  const absl::Time past = absl::Now() - absl::Seconds(1);
  ASSERT_TRUE(AdoptTokenRotation(a, {.to = b, .send_at = past, .refuse_old_at = past}).ok());
  ASSERT_TRUE(AdoptTokenRotation(
                  b, {.to = c, .send_at = past, .refuse_old_at = absl::Now() + absl::Hours(1)})
                  .ok());
  EXPECT_EQ(SendableToken(a), c);
  EXPECT_EQ(TokenAuth(a).Accepted(), (std::vector<std::string>{c, b}));
  const TokenState state = TokenStateOf(a);
  EXPECT_EQ(state.token, b);  // what a worker started now is configured with
  ASSERT_TRUE(state.rotation.has_value());
  EXPECT_EQ(state.rotation->to, c);
}

TEST(TokenRotationTest, AWorkerStartedDuringTheGraceTakesTheRotationFromItsEnvironment) {
  const std::string a = GenerateToken(), b = GenerateToken(), d = GenerateToken();
  const absl::Time now = absl::Now();
  const std::string env = TokenRotationEnv(
      {.to = b, .send_at = now + absl::Seconds(30), .refuse_old_at = now + absl::Seconds(60)});
  EXPECT_THAT(env, Not(HasSubstr(a)));
  // As the worker does, in a process whose `d` stands for its own token.
  ASSERT_TRUE(AdoptTokenRotationEnv(d, env).ok());
  EXPECT_EQ(SendableToken(d), d);
  EXPECT_EQ(TokenAuth(d).Accepted(), (std::vector<std::string>{b, d}));
  EXPECT_EQ(absl::ToUnixMillis(TokenStateOf(d).rotation->refuse_old_at),
            absl::ToUnixMillis(now + absl::Seconds(60)));
  // A head that refuses the old token: the newest is sent at once.
  SendNewestTokensNow();
  EXPECT_EQ(SendableToken(d), b);
  for (const char* bad : {"", "x", "tok 1", "tok a 2", "tok 1 2 3"}) {
    EXPECT_FALSE(AdoptTokenRotationEnv(GenerateToken(), bad).ok()) << bad;
  }
}

}  // namespace
}  // namespace weft
