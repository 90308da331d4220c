// Code that travels with the job (issue 14): a driver's code libraries, and the libraries they
// need that are not the system's, go to the cluster when it starts; a node fetches each from
// the head the first time one of its workers needs it, checks its hash and keeps it; workers
// load it from there. So a driver whose code no node can see by its path works. The driver's
// libraries sit in a folder of their own that the driver removes once Init returns.

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>

#include "common/process.h"
#include "tests/cluster_harness.h"

namespace weft::testing {
namespace {

using ::testing::HasSubstr;
namespace fs = std::filesystem;

// How many lines of a session's logs whose file name starts with `prefix` ("raylet-",
// "worker-") hold `text`.
int LogLines(const std::string& session, const std::string& prefix, const std::string& text) {
  int count = 0;
  for (const auto& entry : fs::directory_iterator(session + "/logs")) {
    if (entry.path().filename().string().rfind(prefix, 0) != 0) continue;
    std::ifstream log(entry.path());
    for (std::string line; std::getline(log, line);) count += line.find(text) != std::string::npos;
  }
  return count;
}

// The files under `dir` (a node's code cache `<session>/code`, the head's copies
// `<session>/job_code`), by inode.
std::map<std::string, ino_t> FilesUnder(const std::string& dir) {
  std::map<std::string, ino_t> files;
  std::error_code error;
  for (const auto& entry : fs::recursive_directory_iterator(dir, error)) {
    struct stat st {};
    if (entry.is_regular_file() && stat(entry.path().c_str(), &st) == 0) {
      files[entry.path().string()] = st.st_ino;
    }
  }
  return files;
}

// A head and a node offering "far"; the driver's code in a folder of its own each run.
class CodeDistributionTest : public ::testing::Test {
 protected:
  TestCluster cluster{1};
  std::string node = cluster.JoinNode({"--num-cpus", "1", "--resources", R"({"far": 2})"});
  TempDir scratch;
  int runs = 0;

  // Copies the driver's code library and its dependency to a new folder and runs the driver
  // with it first on its library path; the driver removes the folder once Init returns.
  CommandResult RunDriver(const std::string& resource) {
    const std::string dir = scratch.Sub("code-" + std::to_string(++runs));
    fs::create_directories(dir);
    const std::string lib = fs::path(BinPath("weft")).parent_path().parent_path() / "lib";
    for (const char* name : {"libcode_travel_driver.so", "libtravel_dep.so"}) {
      fs::copy_file(lib + "/" + name, dir + "/" + name);
    }
    auto result =
        testing::Run({BinPath("code_travel_driver")}, std::chrono::seconds(90),
                     {"WEFT_SESSION_DIR=" + cluster.head_session(), "LD_LIBRARY_PATH=" + dir,
                      "TRAVEL_REMOVE_DIR=" + dir, "TRAVEL_RESOURCE=" + resource});
    EXPECT_FALSE(fs::exists(dir)) << "the driver did not remove its code";
    return result;
  }
};

TEST_F(CodeDistributionTest, ADriversCodeAndItsDependencyReachEveryNodeOnce) {
  ASSERT_FALSE(node.empty());
  const auto first = RunDriver("far");
  EXPECT_EQ(first.exit_code, 0) << first.out << first.err;
  EXPECT_THAT(first.out, HasSubstr("greetings from the dependency, weft"));
  EXPECT_THAT(first.out, HasSubstr("weight 42"));
  EXPECT_THAT(first.out, HasSubstr("ok"));
  // The head keeps both libraries, and the node that ran the actor has them, by content.
  EXPECT_EQ(FilesUnder(cluster.head_session() + "/job_code").size(), 2u);
  const auto cached = FilesUnder(node + "/code");
  EXPECT_EQ(cached.size(), 2u);

  // The same code again (copied anew: same bytes, another folder): not sent again, not
  // fetched again.
  const auto second = RunDriver("far");
  EXPECT_EQ(second.exit_code, 0) << second.out << second.err;
  EXPECT_THAT(second.out, HasSubstr("greetings from the dependency, weft"));
  EXPECT_EQ(LogLines(cluster.head_session(), "raylet-", "code library stored"), 2);
  EXPECT_EQ(LogLines(node, "raylet-", "code library fetched"), 2);
  EXPECT_EQ(FilesUnder(node + "/code"), cached);
  // The workers loaded the node's copies, the dependency first (its dependent would otherwise
  // find the build's own copy through its RUNPATH).
  EXPECT_GE(LogLines(node, "worker-",
                     "loaded code library name=libtravel_dep.so path=" + node + "/code/"),
            1);
  EXPECT_GE(LogLines(node, "worker-",
                     "loaded code library name=libcode_travel_driver.so path=" + node + "/code/"),
            1);
}

TEST_F(CodeDistributionTest, ANodeRefusesALibraryThatIsNotWhatItsHashSays) {
  ASSERT_FALSE(node.empty());
  ASSERT_EQ(RunDriver("far").exit_code, 0);
  // The head's copy of the driver's library (the larger) altered: same size, other bytes. A
  // node that has none yet fetches it and refuses it.
  const auto stored = FilesUnder(cluster.head_session() + "/job_code");
  ASSERT_EQ(stored.size(), 2u);
  std::string largest = stored.begin()->first;
  for (const auto& [path, inode] : stored) {
    if (fs::file_size(path) > fs::file_size(largest)) largest = path;
  }
  {
    fs::permissions(largest, fs::perms::owner_write, fs::perm_options::add);
    std::fstream file(largest, std::ios::binary | std::ios::in | std::ios::out);
    file.seekp(static_cast<std::streamoff>(fs::file_size(largest) / 2));
    file << "tampered";
    ASSERT_TRUE(file.good()) << largest;
  }
  const std::string fresh = cluster.JoinNode({"--num-cpus", "1", "--resources", R"({"fresh": 2})"});
  ASSERT_FALSE(fresh.empty());
  const auto refused = RunDriver("fresh");
  EXPECT_NE(refused.exit_code, 0);
  EXPECT_THAT(refused.out, HasSubstr("does not match its SHA-256"));
  EXPECT_EQ(FilesUnder(fresh + "/code").size(), 1u) << "only the dependency is whole";
  // The node that had them keeps serving; the head dropped its altered copy, so the next
  // driver sends it again and the new node takes it.
  const auto again = RunDriver("far");
  EXPECT_EQ(again.exit_code, 0) << again.out << again.err;
  const auto healed = RunDriver("fresh");
  EXPECT_EQ(healed.exit_code, 0) << healed.out << healed.err;
  EXPECT_EQ(FilesUnder(fresh + "/code").size(), 2u);
}

}  // namespace
}  // namespace weft::testing
