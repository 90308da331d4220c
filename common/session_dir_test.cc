#include "common/session_dir.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>

namespace weft {
namespace {

namespace fs = std::filesystem;

class SessionDirTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/weft_session_test.XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { fs::remove_all(dir_); }

  static unsigned Mode(const std::string& path) {
    struct stat st;
    return stat(path.c_str(), &st) == 0 ? st.st_mode & 0777 : ~0u;
  }

  std::string dir_;
};

TEST_F(SessionDirTest, CreateMakesRootLogsAndRayletsWithMode0700) {
  SessionDir session(dir_ + "/a/b/session");
  ASSERT_TRUE(session.Create().ok());
  for (const auto& d : {session.root(), session.LogsDir(), session.RayletsDir()}) {
    EXPECT_TRUE(fs::is_directory(d)) << d;
    EXPECT_EQ(Mode(d), 0700u) << d;
  }
  EXPECT_EQ(session.LogsDir(), dir_ + "/a/b/session/logs");
  EXPECT_EQ(session.RayletsDir(), dir_ + "/a/b/session/raylets");
}

TEST_F(SessionDirTest, CreateTwiceKeepsExistingFiles) {
  SessionDir session(dir_ + "/s");
  ASSERT_TRUE(session.Create().ok());
  ASSERT_TRUE(WriteFileAtomic(session.TokenPath(), "t").ok());
  ASSERT_TRUE(session.Create().ok());
  EXPECT_EQ(*ReadFile(session.TokenPath()), "t");
}

TEST_F(SessionDirTest, RayletRecordLivesUnderRayletsByPid) {
  SessionDir session(dir_);
  EXPECT_EQ(session.RayletRecordPath(4242), dir_ + "/raylets/4242");
}

TEST_F(SessionDirTest, WriteFileAtomicThenReadFileRoundTrips) {
  const std::string path = dir_ + "/record.json";
  std::string contents = "{\"a\": 1}\n";
  contents += '\0';
  contents += "binary\xff";
  ASSERT_TRUE(WriteFileAtomic(path, contents).ok());
  auto read = ReadFile(path);
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(*read, contents);
}

TEST_F(SessionDirTest, WriteFileAtomicReplacesAndLeavesNoTempFile) {
  const std::string path = dir_ + "/head_address";
  ASSERT_TRUE(WriteFileAtomic(path, "a much longer first address:1234").ok());
  ASSERT_TRUE(WriteFileAtomic(path, "b:1").ok());
  EXPECT_EQ(*ReadFile(path), "b:1");
  EXPECT_FALSE(fs::exists(path + ".tmp"));
}

TEST_F(SessionDirTest, WriteFileAtomicIntoMissingFolderFails) {
  EXPECT_FALSE(WriteFileAtomic(dir_ + "/no/such/dir/file", "x").ok());
}

TEST_F(SessionDirTest, ReadMissingFileIsNotFound) {
  EXPECT_EQ(ReadFile(dir_ + "/missing").status().code(), absl::StatusCode::kNotFound);
}

TEST_F(SessionDirTest, DefaultFollowsEnvironmentVariable) {
  const char* old = getenv("WEFT_SESSION_DIR");
  const std::string saved = old ? old : "";
  setenv("WEFT_SESSION_DIR", dir_.c_str(), 1);
  EXPECT_EQ(SessionDir::Default(), dir_);
  unsetenv("WEFT_SESSION_DIR");
  EXPECT_EQ(SessionDir::Default(), "/tmp/weft-" + std::to_string(geteuid()) + "/default");
  if (old) setenv("WEFT_SESSION_DIR", saved.c_str(), 1);
}

TEST_F(SessionDirTest, CreateRefusesAFolderThatIsASymlink) {
  const std::string target = dir_ + "/elsewhere";
  ASSERT_EQ(mkdir(target.c_str(), 0700), 0);
  const std::string link = dir_ + "/session";
  ASSERT_EQ(symlink(target.c_str(), link.c_str()), 0);
  const auto status = SessionDir(link).Create();
  EXPECT_EQ(status.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(std::string(status.message()),
              ::testing::HasSubstr("not a folder owned by this user"));
}

TEST_F(SessionDirTest, CreateMakesAnExistingFolderPrivate) {
  const std::string session = dir_ + "/open";
  ASSERT_EQ(mkdir(session.c_str(), 0777), 0);
  ASSERT_EQ(chmod(session.c_str(), 0777), 0);
  ASSERT_TRUE(SessionDir(session).Create().ok());
  struct stat st {};
  ASSERT_EQ(stat(session.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700);
}

TEST_F(SessionDirTest, OnlyOneHeadLockAtATime) {
  const SessionDir session(dir_);
  ASSERT_TRUE(session.Create().ok());
  auto first = session.LockHead();
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(session.LockHead().status().code(), absl::StatusCode::kAlreadyExists);
  close(*first);
  auto again = session.LockHead();
  EXPECT_TRUE(again.ok());
  if (again.ok()) close(*again);
}

}  // namespace
}  // namespace weft
