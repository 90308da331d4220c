#include "common/code_library.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>

#include "common/session_dir.h"

namespace weft {
namespace {

namespace fs = std::filesystem;

class CodeLibraryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char path[] = "/tmp/weft-code-test-XXXXXX";
    ASSERT_NE(mkdtemp(path), nullptr);
    dir_ = path;
  }
  void TearDown() override { fs::remove_all(dir_); }

  // A library of `bytes` as the driver would describe it.
  proto::CodeLibrary Describe(const std::string& bytes, const std::string& name = "libx.so") {
    const std::string file = dir_ + "/source-" + name;
    std::ofstream(file, std::ios::binary) << bytes;
    auto library = DescribeLibrary(file);
    EXPECT_TRUE(library.ok()) << library.status();
    return library.value_or(proto::CodeLibrary());
  }
  std::vector<std::string> Partials() const {
    std::vector<std::string> found;
    for (const auto& entry : fs::recursive_directory_iterator(dir_)) {
      if (entry.path().string().find(".partial-") != std::string::npos) {
        found.push_back(entry.path());
      }
    }
    return found;
  }

  std::string dir_;
};

TEST_F(CodeLibraryTest, ALibraryIsKnownByTheSha256OfItsBytes) {
  const auto library = Describe("abc");
  // FIPS 180-2's example.
  EXPECT_EQ(library.sha256(), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(library.name(), "source-libx.so");
  EXPECT_EQ(library.size(), 3);
}

TEST_F(CodeLibraryTest, WhatMakesAPathIsChecked) {
  proto::CodeLibrary library = Describe("abc");
  EXPECT_TRUE(CheckLibrary(library).ok());
  for (const char* name : {"", ".", "..", "../libx.so", "a/b.so"}) {
    proto::CodeLibrary bad = library;
    bad.set_name(name);
    EXPECT_EQ(CheckLibrary(bad).code(), absl::StatusCode::kInvalidArgument) << name;
  }
  for (const char* sha :
       {"", "../..", "BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD"}) {
    proto::CodeLibrary bad = library;
    bad.set_sha256(sha);
    EXPECT_EQ(CheckLibrary(bad).code(), absl::StatusCode::kInvalidArgument) << sha;
  }
  proto::CodeLibrary huge = library;
  huge.set_size(kMaxCodeLibraryBytes + 1);
  EXPECT_EQ(CheckLibrary(huge).code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(CodeLibraryTest, ACopyTakesItsPlaceReadOnlyOnceItsBytesCheck) {
  const std::string bytes(3 * kCodeChunkBytes / 2, 'x');
  const auto library = Describe(bytes);
  const std::string path = dir_ + "/copies/" + library.sha256();
  auto writer = CodeFileWriter::Create(path, library);
  ASSERT_TRUE(writer.ok()) << writer.status();
  ASSERT_TRUE((*writer)->Append(std::string_view(bytes).substr(0, kCodeChunkBytes)).ok());
  EXPECT_FALSE(fs::exists(path)) << "a partial copy is visible";
  ASSERT_TRUE((*writer)->Append(std::string_view(bytes).substr(kCodeChunkBytes)).ok());
  ASSERT_TRUE((*writer)->Commit().ok());
  writer->reset();
  EXPECT_EQ(ReadFile(path).value_or(""), bytes);
  struct stat st {};
  ASSERT_EQ(stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0444);
  EXPECT_TRUE(Partials().empty());
}

TEST_F(CodeLibraryTest, BytesThatAreNotTheLibraryNeverTakeItsPlace) {
  const auto library = Describe("the real bytes");
  const std::string path = dir_ + "/copies/" + library.sha256();
  {
    auto altered = CodeFileWriter::Create(path, library);
    ASSERT_TRUE(altered.ok());
    ASSERT_TRUE((*altered)->Append("the fake bytes").ok());  // same size, other bytes
    const absl::Status committed = (*altered)->Commit();
    EXPECT_EQ(committed.code(), absl::StatusCode::kDataLoss);
    EXPECT_NE(committed.message().find("does not match its SHA-256"), std::string::npos);
  }
  {
    auto longer = CodeFileWriter::Create(path, library);
    ASSERT_TRUE(longer.ok());
    EXPECT_EQ((*longer)->Append("the real bytes, and more").code(), absl::StatusCode::kDataLoss);
  }
  {
    auto shorter = CodeFileWriter::Create(path, library);
    ASSERT_TRUE(shorter.ok());
    ASSERT_TRUE((*shorter)->Append("the real").ok());
    EXPECT_EQ((*shorter)->Commit().code(), absl::StatusCode::kDataLoss);
  }
  {
    auto abandoned = CodeFileWriter::Create(path, library);  // a transfer cut short
    ASSERT_TRUE(abandoned.ok());
    ASSERT_TRUE((*abandoned)->Append("the real").ok());
  }
  EXPECT_FALSE(fs::exists(path));
  EXPECT_TRUE(Partials().empty());
}

}  // namespace
}  // namespace weft
