#include "cli/job_upload.h"

#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "common/code_library.h"

namespace weft::cli {
namespace {

namespace fs = std::filesystem;

// The executable `name` names: a path when it has a '/', else the first on $PATH.
absl::StatusOr<std::string> FindExecutable(const std::string& name) {
  if (name.find('/') != std::string::npos) {
    if (access(name.c_str(), X_OK) != 0) {
      return absl::NotFoundError(absl::StrCat("entrypoint ", name, " not found or not executable"));
    }
    return fs::weakly_canonical(name).string();
  }
  const char* path = std::getenv("PATH");
  for (absl::string_view dir : absl::StrSplit(path ? path : "", ':', absl::SkipEmpty())) {
    const std::string candidate = absl::StrCat(dir, "/", name);
    if (access(candidate.c_str(), X_OK) == 0 && fs::is_regular_file(candidate)) {
      return fs::weakly_canonical(candidate).string();
    }
  }
  return absl::NotFoundError(absl::StrCat("entrypoint ", name, " not found on $PATH"));
}

bool IsElf(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  char magic[4] = {};
  in.read(magic, sizeof(magic));
  return in.gcount() == 4 && magic[0] == 0x7f && magic[1] == 'E' && magic[2] == 'L' &&
         magic[3] == 'F';
}

// `text` in single quotes for sh.
std::string ShellQuoted(const std::string& text) {
  return absl::StrCat("'", absl::StrReplaceAll(text, {{"'", "'\\''"}}), "'");
}

absl::StatusOr<CodeFile> Describe(const std::string& path, const std::string& name) {
  auto library = DescribeLibrary(path);
  if (!library.ok()) return library.status();
  library->set_name(name);
  return CodeFile{path, *std::move(library)};
}

}  // namespace

absl::StatusOr<std::vector<std::pair<std::string, std::string>>> NeededLibraries(
    const std::string& path) {
  FILE* ldd = popen(absl::StrCat("ldd ", ShellQuoted(path), " 2>&1").c_str(), "r");
  if (!ldd) return absl::InternalError(absl::StrCat("cannot run ldd on ", path));
  std::string output;
  char buffer[4096];
  for (size_t n; (n = fread(buffer, 1, sizeof(buffer), ldd)) > 0;) output.append(buffer, n);
  const int status = pclose(ldd);
  std::vector<std::pair<std::string, std::string>> needed;
  if (output.find("not a dynamic executable") != std::string::npos) return needed;  // static
  if (status == -1 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    return absl::FailedPreconditionError(absl::StrCat("ldd ", path, " failed: ", output));
  }
  for (absl::string_view line : absl::StrSplit(output, '\n', absl::SkipEmpty())) {
    line = absl::StripAsciiWhitespace(line);
    const size_t arrow = line.find(" => ");
    if (arrow == absl::string_view::npos) continue;  // the vDSO, the loader itself
    const std::string name(line.substr(0, arrow));
    absl::string_view found = line.substr(arrow + 4);
    if (absl::StartsWith(found, "not found")) {
      return absl::FailedPreconditionError(
          absl::StrCat(path, " needs ", name, ", which the loader does not find on this machine"));
    }
    found = found.substr(0, found.find(" ("));
    needed.emplace_back(name, std::string(found));
  }
  return needed;
}

absl::StatusOr<JobUpload> PrepareJobUpload(const std::vector<std::string>& argv,
                                           const std::string& working_dir) {
  if (argv.empty() || argv[0].empty()) {
    return absl::InvalidArgumentError("give the entrypoint after --: weft job submit -- ./prog");
  }
  auto executable = FindExecutable(argv[0]);
  if (!executable.ok()) return executable.status();
  if (!IsElf(*executable)) {
    return absl::FailedPreconditionError(
        absl::StrCat("entrypoint ", *executable,
                     " is not a compiled (ELF) program: the cluster runs C++ drivers"));
  }
  JobUpload upload;
  auto& submission = upload.submission;
  submission.mutable_argv()->Assign(argv.begin(), argv.end());
  auto described = Describe(*executable, fs::path(*executable).filename().string());
  if (!described.ok()) return described.status();
  *submission.mutable_executable() = described->library;
  upload.files.push_back(*std::move(described));

  auto needed = NeededLibraries(*executable);
  if (!needed.ok()) return needed.status();
  for (const auto& [name, path] : *needed) {
    const std::string at = fs::weakly_canonical(path).string();
    if (IsSystemLibrary(at)) continue;  // every node has its own
    auto library = Describe(at, name);
    if (!library.ok()) return library.status();
    *submission.add_libraries() = library->library;
    upload.files.push_back(*std::move(library));
  }

  if (working_dir.empty()) return upload;
  std::error_code error;
  if (!fs::is_directory(working_dir, error)) {
    return absl::NotFoundError(absl::StrCat("working directory ", working_dir, " not found"));
  }
  int64_t bytes = 0;
  int files = 0;
  for (auto it = fs::recursive_directory_iterator(working_dir, error);
       !error && it != fs::recursive_directory_iterator(); it.increment(error)) {
    if (!it->is_regular_file(error)) continue;
    if (++files > kMaxWorkingDirFiles) {
      return absl::InvalidArgumentError(
          absl::StrCat("working directory ", working_dir, " has more than ", kMaxWorkingDirFiles,
                       " files: the cluster takes at most that many"));
    }
    const std::string path = it->path().string();
    // Sent under its file name (the store takes plain names); placed under its relative path.
    auto file = Describe(path, it->path().filename().string());
    if (!file.ok()) return file.status();
    bytes += file->library.size();
    if (bytes > kMaxWorkingDirBytes) {
      return absl::InvalidArgumentError(absl::StrCat("working directory ", working_dir,
                                                     " holds more than ", kMaxWorkingDirBytes >> 20,
                                                     " MiB: the cluster takes at most that much"));
    }
    proto::CodeLibrary* placed = submission.add_working_dir();
    *placed = file->library;
    placed->set_name(it->path().lexically_relative(working_dir).string());
    upload.files.push_back(*std::move(file));
  }
  if (error) {
    return absl::UnavailableError(
        absl::StrCat("cannot read working directory ", working_dir, ": ", error.message()));
  }
  return upload;
}

}  // namespace weft::cli
