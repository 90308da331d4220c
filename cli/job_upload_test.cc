#include "cli/job_upload.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

namespace weft::cli {
namespace {

namespace fs = std::filesystem;

class JobUploadTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/weft-test-upload-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string Write(const std::string& name, const std::string& text) {
    const fs::path path = fs::path(dir_) / name;
    fs::create_directories(path.parent_path());
    std::ofstream(path) << text;
    return path.string();
  }

  std::string dir_;
};

TEST_F(JobUploadTest, AProgramOnPathTravelsWithoutTheSystemsLibraries) {
  auto upload = PrepareJobUpload({"true", "--ignored"}, "");
  ASSERT_TRUE(upload.ok()) << upload.status();
  const auto& submission = upload->submission;
  EXPECT_EQ(submission.argv_size(), 2);
  EXPECT_EQ(submission.argv(0), "true") << "argv as given; the node puts its path first";
  EXPECT_EQ(submission.executable().name(), "true");
  EXPECT_EQ(submission.executable().sha256().size(), 64u);
  EXPECT_EQ(submission.libraries_size(), 0) << "libc is the system's: every node has it";
  ASSERT_EQ(upload->files.size(), 1u);
  EXPECT_EQ(fs::path(upload->files[0].path).filename(), "true");
}

TEST_F(JobUploadTest, TheLoaderNamesEveryLibraryItFindsAndItsPath) {
  auto needed = NeededLibraries("/bin/ls");
  ASSERT_TRUE(needed.ok()) << needed.status();
  const auto libc = std::find_if(needed->begin(), needed->end(),
                                 [](const auto& entry) { return entry.first == "libc.so.6"; });
  ASSERT_NE(libc, needed->end());
  EXPECT_TRUE(IsSystemLibrary(fs::weakly_canonical(libc->second).string())) << libc->second;
}

TEST_F(JobUploadTest, TheWorkingDirectoryTravelsUnderRelativeNames) {
  Write("work/a.txt", "a");
  Write("work/deep/er/b.txt", "bb");
  auto upload = PrepareJobUpload({"true"}, dir_ + "/work");
  ASSERT_TRUE(upload.ok()) << upload.status();
  std::vector<std::string> names;
  for (const auto& file : upload->submission.working_dir()) names.push_back(file.name());
  std::sort(names.begin(), names.end());
  EXPECT_EQ(names, (std::vector<std::string>{"a.txt", "deep/er/b.txt"}));
  EXPECT_EQ(upload->files.size(), 3u) << "the executable and both files";
  for (const auto& file : upload->files) {
    EXPECT_EQ(file.library.name().find('/'), std::string::npos)
        << "the code store takes plain names: " << file.library.name();
  }
}

TEST_F(JobUploadTest, WhatCannotRunOrIsTooLargeIsRefusedBeforeAnythingIsSent) {
  EXPECT_EQ(PrepareJobUpload({"/no/such/prog"}, "").status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(PrepareJobUpload({"no-such-program-on-path"}, "").status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(PrepareJobUpload({}, "").status().code(), absl::StatusCode::kInvalidArgument);
  const std::string script = Write("run.sh", "#!/bin/sh\necho hi\n");
  chmod(script.c_str(), 0755);
  const auto not_elf = PrepareJobUpload({script}, "");
  EXPECT_EQ(not_elf.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(not_elf.status().message().find("not a compiled (ELF) program"), std::string::npos);

  for (int i = 0; i <= kMaxWorkingDirFiles; ++i) Write("many/f" + std::to_string(i), "");
  const auto many = PrepareJobUpload({"true"}, dir_ + "/many");
  EXPECT_EQ(many.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(many.status().message().find("more than 1000 files"), std::string::npos)
      << many.status();
  EXPECT_EQ(PrepareJobUpload({"true"}, dir_ + "/none").status().code(),
            absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace weft::cli
