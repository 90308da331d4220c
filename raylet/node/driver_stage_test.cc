#include "raylet/node/driver_stage.h"

#include <elf.h>
#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>

namespace weft::node {
namespace {

namespace fs = std::filesystem;

class DriverStageTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/weft-test-stage-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string dir_;
};

TEST_F(DriverStageTest, OnlyAnElfProgramOfThisMachinesArchitectureRunsHere) {
  const std::string own = dir_ + "/own";
  fs::copy_file("/proc/self/exe", own);
  EXPECT_TRUE(CheckRunsHere(own, "own").ok());

  // The same program, said to be for another machine (e_machine is at offset 18).
  const std::string foreign = dir_ + "/foreign";
  fs::copy_file(own, foreign);
  Elf64_Half other = EM_AARCH64;
  std::string named = "aarch64";
  {
    std::ifstream in(own, std::ios::binary);
    Elf64_Ehdr header{};
    in.read(reinterpret_cast<char*>(&header), sizeof(header));
    if (header.e_machine == EM_AARCH64) {
      other = EM_X86_64;
      named = "x86-64";
    }
  }
  {
    std::fstream patch(foreign, std::ios::binary | std::ios::in | std::ios::out);
    patch.seekp(18);
    patch.write(reinterpret_cast<const char*>(&other), sizeof(other));
  }
  const auto refused = CheckRunsHere(foreign, "train");
  EXPECT_EQ(refused.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(refused.message().find("train is built for " + named), std::string::npos)
      << refused.message();

  const std::string script = dir_ + "/run.sh";
  std::ofstream(script) << "#!/bin/sh\necho hi\n";
  const auto not_elf = CheckRunsHere(script, "run.sh");
  EXPECT_EQ(not_elf.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(not_elf.message().find("run.sh is not an ELF executable"), std::string::npos);
}

TEST_F(DriverStageTest, TheLastLineOfOutputSaysWhyADriverFailed) {
  const std::string out = dir_ + "/out";
  std::ofstream(out) << "starting\n" << std::string(10000, 'x') << "\nerror: no data\n\n";
  EXPECT_EQ(LastLineOf(out), "error: no data");
  EXPECT_EQ(LastLineOf(dir_ + "/none"), "");
}

}  // namespace
}  // namespace weft::node
