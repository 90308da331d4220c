#include "common/session_dir.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/process.h"

namespace weft {

namespace {

// Where default sessions live: one folder per user under /tmp.
std::string UserRoot() { return absl::StrCat("/tmp/weft-", geteuid()); }

// A folder only this user can enter: created 0700 when missing; refused when it is a
// symlink or belongs to someone else (it holds the token).
absl::Status MakePrivateDir(const std::string& dir) {
  if (mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
    return absl::PermissionDeniedError(absl::StrCat("cannot create ", dir, ": ", strerror(errno)));
  }
  struct stat st {};
  if (lstat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode) || st.st_uid != geteuid()) {
    return absl::PermissionDeniedError(
        absl::StrCat(dir, " is not a folder owned by this user; refusing to keep a token there"));
  }
  if ((st.st_mode & 0777) != 0700 && chmod(dir.c_str(), 0700) != 0) {
    return absl::PermissionDeniedError(absl::StrCat("cannot make ", dir, " private"));
  }
  return absl::OkStatus();
}

}  // namespace

std::string SessionDir::Default() {
  const char* env = std::getenv("WEFT_SESSION_DIR");
  return env && *env ? env : UserRoot() + "/default";
}

absl::Status SessionDir::Create() const {
  const auto parent = std::filesystem::path(root_).parent_path();
  if (parent == UserRoot()) {  // in shared /tmp, the user's folder must be theirs alone
    if (auto status = MakePrivateDir(parent.string()); !status.ok()) return status;
  } else if (!parent.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(parent, ec);
  }
  for (const auto& dir : {root_, LogsDir(), RayletsDir()}) {
    if (auto status = MakePrivateDir(dir); !status.ok()) return status;
  }
  return absl::OkStatus();
}

std::string SessionDir::RayletRecordPath(int pid) const {
  return absl::StrCat(RayletsDir(), "/", pid);
}

std::vector<pid_t> SessionDir::RunningRaylets() const {
  std::vector<pid_t> running;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(RayletsDir(), ec)) {
    int pid = 0;
    if (!absl::SimpleAtoi(entry.path().filename().string(), &pid)) continue;
    // A record counts only while its raylet holds its lock: a stale record's pid may name
    // another process by now, even another session's raylet.
    if (!RecordLocked(entry.path().string()) || ProcessName(pid) != "weft-raylet") {
      std::filesystem::remove(entry.path(), ec);
      continue;
    }
    running.push_back(pid);
  }
  return running;
}

absl::StatusOr<int> SessionDir::LockHead() const {
  auto fd = LockFile(root_ + "/head.lock");
  if (fd.status().code() != absl::StatusCode::kAlreadyExists) return fd;
  return absl::AlreadyExistsError(absl::StrCat("a Weft head already runs in ", root_,
                                               "; stop it with `weft stop --session-dir ", root_,
                                               "` or pick another --session-dir"));
}

absl::StatusOr<int> SessionDir::WriteRayletRecord(int pid, const std::string& json) const {
  const std::string path = RayletRecordPath(pid);
  if (auto status = WriteFileAtomic(path, json, 0600); !status.ok()) return status;
  return LockFile(path);
}

absl::StatusOr<int> LockFile(const std::string& path) {
  const int fd = open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return absl::PermissionDeniedError(absl::StrCat("cannot open ", path));
  if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
    close(fd);
    return absl::AlreadyExistsError(absl::StrCat(path, " is locked by another process"));
  }
  return fd;
}

bool RecordLocked(const std::string& path) {
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  const bool held = flock(fd, LOCK_SH | LOCK_NB) != 0 && errno == EWOULDBLOCK;
  close(fd);
  return held;
}

absl::Status WriteFileAtomic(const std::string& path, const std::string& contents, int mode) {
  std::string tmp = absl::StrCat(path, ".XXXXXX");  // unique: writers may race
  const int fd = mkostemp(tmp.data(), O_CLOEXEC);
  if (fd < 0) return absl::PermissionDeniedError(absl::StrCat("cannot write next to ", path));
  bool written = fchmod(fd, mode) == 0;
  for (size_t done = 0; written && done < contents.size();) {
    const ssize_t n = write(fd, contents.data() + done, contents.size() - done);
    written = n > 0 || (n < 0 && errno == EINTR);
    if (n > 0) done += n;
  }
  close(fd);
  if (!written) {
    std::remove(tmp.c_str());
    return absl::DataLossError(absl::StrCat("short write to ", tmp));
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    std::remove(tmp.c_str());
    return absl::PermissionDeniedError(absl::StrCat("cannot rename ", tmp, " to ", path));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(absl::StrCat(path, " not found"));
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

}  // namespace weft
