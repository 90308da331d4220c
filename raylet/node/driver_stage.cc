#include "raylet/node/driver_stage.h"

#include <elf.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace weft::node {
namespace {

namespace fs = std::filesystem;

// The ELF machine of the file at `path`; nullopt when it is not an ELF file.
std::optional<uint16_t> ElfMachine(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  Elf64_Ehdr header{};  // e_machine sits at the same offset in 32- and 64-bit headers
  in.read(reinterpret_cast<char*>(&header), sizeof(header));
  if (in.gcount() < 20 || header.e_ident[EI_MAG0] != ELFMAG0 ||
      header.e_ident[EI_MAG1] != ELFMAG1 || header.e_ident[EI_MAG2] != ELFMAG2 ||
      header.e_ident[EI_MAG3] != ELFMAG3) {
    return std::nullopt;
  }
  return header.e_machine;
}

std::string MachineName(uint16_t machine) {
  switch (machine) {
    case EM_X86_64:
      return "x86-64";
    case EM_AARCH64:
      return "aarch64";
    case EM_386:
      return "x86 (32-bit)";
    case EM_ARM:
      return "arm (32-bit)";
    case EM_RISCV:
      return "riscv";
    case EM_PPC64:
      return "ppc64";
    case EM_S390:
      return "s390";
    default:
      return absl::StrCat("ELF machine ", machine);
  }
}

// Where one file of the job goes, and how.
struct Placement {
  proto::CodeLibrary file;
  fs::path to;
  enum { kExecutable, kLibrary, kWorkingFile } kind;
};

// The fetches of one job, one after another (the cache takes only so many at once).
struct Stage {
  CodeCache& code;
  std::vector<Placement> files;
  size_t next = 0;
  WorkerPool::DriverLaunch launch;
  StageDone done;
};

absl::Status Place(const Placement& placement, const std::string& cached) {
  std::error_code error;
  fs::create_directories(placement.to.parent_path(), error);
  if (error) {
    return absl::InternalError(
        absl::StrCat("cannot make ", placement.to.parent_path().string(), ": ", error.message()));
  }
  fs::remove(placement.to, error);
  if (placement.kind == Placement::kLibrary) {
    fs::create_symlink(cached, placement.to, error);  // the cache's copies are read-only
  } else {
    fs::copy_file(cached, placement.to, error);
    if (!error) {
      fs::permissions(placement.to,
                      placement.kind == Placement::kExecutable
                          ? fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec
                          : fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read,
                      error);
    }
  }
  if (error) {
    return absl::InternalError(
        absl::StrCat("cannot place ", placement.to.string(), ": ", error.message()));
  }
  return absl::OkStatus();
}

void FetchNext(const std::shared_ptr<Stage>& stage) {
  if (stage->next == stage->files.size()) return stage->done(std::move(stage->launch));
  const Placement& placement = stage->files[stage->next];
  proto::CodeLibrary fetched = placement.file;  // a working directory's file: its path
  fetched.set_name(fs::path(fetched.name()).filename().string());
  stage->code.Provide(fetched, [stage](absl::StatusOr<std::string> cached) {
    const Placement& placement = stage->files[stage->next];
    absl::Status status = cached.status();
    if (status.ok() && placement.kind == Placement::kExecutable) {
      status = CheckRunsHere(*cached, placement.file.name());
    }
    if (status.ok()) status = Place(placement, *cached);
    if (!status.ok()) {
      return stage->done(absl::Status(
          status.code(),
          absl::StrCat("cannot stage ", placement.file.name(), ": ", status.message())));
    }
    ++stage->next;
    FetchNext(stage);
  });
}

}  // namespace

std::string LastLineOf(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  in.seekg(0, std::ios::end);
  const std::streamoff size = in ? static_cast<std::streamoff>(in.tellg()) : 0;
  const std::streamoff from = std::max<std::streamoff>(0, size - 4096);
  std::string tail(static_cast<size_t>(size - from), '\0');
  in.seekg(from);
  in.read(tail.data(), static_cast<std::streamsize>(tail.size()));
  absl::string_view text = absl::StripTrailingAsciiWhitespace(tail);
  if (const size_t newline = text.rfind('\n'); newline != absl::string_view::npos) {
    text.remove_prefix(newline + 1);
  }
  return std::string(text.substr(0, 300));
}

absl::Status CheckRunsHere(const std::string& path, const std::string& name) {
  const auto machine = ElfMachine(path);
  if (!machine) {
    return absl::FailedPreconditionError(
        absl::StrCat(name, " is not an ELF executable: the cluster runs compiled programs"));
  }
  static const std::optional<uint16_t> own = ElfMachine("/proc/self/exe");
  if (own && *machine != *own) {
    return absl::FailedPreconditionError(absl::StrCat(name, " is built for ", MachineName(*machine),
                                                      "; this node is ", MachineName(*own)));
  }
  return absl::OkStatus();
}

void StageDriver(CodeCache& code, const std::string& jobs_dir, const std::string& job_id,
                 const proto::JobSubmission& submission, StageDone done) {
  const fs::path root = fs::path(jobs_dir) / job_id;
  auto stage = std::make_shared<Stage>(Stage{code, {}, 0, {}, std::move(done)});
  const fs::path executable = root / "bin" / submission.executable().name();
  stage->files.push_back({submission.executable(), executable, Placement::kExecutable});
  for (const auto& library : submission.libraries()) {
    stage->files.push_back({library, root / "lib" / library.name(), Placement::kLibrary});
  }
  for (const auto& file : submission.working_dir()) {
    stage->files.push_back({file, root / "cwd" / file.name(), Placement::kWorkingFile});
  }
  std::error_code error;
  fs::remove_all(root, error);  // an earlier cluster's job of that id, in this session
  fs::create_directories(root / "cwd", error);  // the driver's folder, files or not
  if (error) {
    return stage->done(absl::InternalError(
        absl::StrCat("cannot make ", (root / "cwd").string(), ": ", error.message())));
  }
  auto& launch = stage->launch;
  launch.argv.assign(submission.argv().begin(), submission.argv().end());
  launch.argv[0] = executable.string();
  launch.cwd = (root / "cwd").string();
  std::string library_path = (root / "lib").string();
  for (const auto& [name, value] : submission.env()) {
    if (name == "LD_LIBRARY_PATH") {
      if (!value.empty()) absl::StrAppend(&library_path, ":", value);
      continue;
    }
    launch.env.push_back(absl::StrCat(name, "=", value));
  }
  launch.env.insert(launch.env.begin(), "LD_LIBRARY_PATH=" + library_path);
  FetchNext(stage);
}

}  // namespace weft::node
