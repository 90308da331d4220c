#include "common/shared_memory.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string_view>

#include "absl/strings/str_cat.h"
#include "common/ids.h"

namespace weft {
namespace {

constexpr char kNodePrefix[] = "weft-node-";

// Absolute: the node's folder is linked to from its session's folder.
std::string Root() {
  const char* root = std::getenv("WEFT_SHM_DIR");
  std::error_code ec;
  const auto path = std::filesystem::absolute(root && *root ? root : "/dev/shm", ec);
  return ec ? "/dev/shm" : path.lexically_normal().string();
}

// An open descriptor of folder `path` (or -1), not through a link, closed on exec.
int OpenDir(const std::string& path) {
  return open(path.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
}

}  // namespace

namespace {

bool IsHex(std::string_view text, size_t digits) {
  return text.size() == digits && std::all_of(text.begin(), text.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

constexpr std::string_view kBuilding = ".new-";

}  // namespace

bool Sweepable(const std::filesystem::path& path, const std::string& prefix) {
  const std::string name = path.filename();
  if (!name.starts_with(prefix)) return false;
  const std::string_view rest = std::string_view(name).substr(prefix.size());
  if (IsHex(rest, 16)) return true;
  if (rest.size() != 16 + kBuilding.size() + 8 || !IsHex(rest.substr(0, 16), 16) ||
      rest.substr(16, kBuilding.size()) != kBuilding ||
      !IsHex(rest.substr(16 + kBuilding.size()), 8)) {
    return false;
  }
  std::error_code ec;
  const auto modified = std::filesystem::last_write_time(path, ec);
  return !ec && std::filesystem::file_time_type::clock::now() - modified > std::chrono::minutes(1);
}

bool FolderHeld(const std::string& path) {
  const int fd = open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return false;
  const bool held = flock(fd, LOCK_SH | LOCK_NB) != 0 && errno == EWOULDBLOCK;
  close(fd);  // releases a lock taken just now
  return held;
}

bool RemoveIfAbandoned(const std::string& path) {
  const int fd = OpenDir(path);
  if (fd < 0) return false;
  struct stat held {
  }, named{};
  // Taken: nobody holds it. Still the folder at `path` (not one made since), and this user's.
  const bool abandoned = flock(fd, LOCK_EX | LOCK_NB) == 0 && fstat(fd, &held) == 0 &&
                         lstat(path.c_str(), &named) == 0 && held.st_dev == named.st_dev &&
                         held.st_ino == named.st_ino && held.st_uid == geteuid();
  std::error_code ec;
  if (abandoned) std::filesystem::remove_all(path, ec);
  close(fd);
  return abandoned;
}

absl::StatusOr<int> CreateLockedDir(const std::string& path) {
  const std::string building =
      absl::StrCat(path, std::string(kBuilding), RandomHex(4));  // swept if left
  if (mkdir(building.c_str(), 0700) != 0) {
    return absl::UnavailableError(absl::StrCat("cannot create ", building, ": ", strerror(errno)));
  }
  const int fd = OpenDir(building);
  if (fd < 0 || flock(fd, LOCK_EX | LOCK_NB) != 0 ||
      renameat2(AT_FDCWD, building.c_str(), AT_FDCWD, path.c_str(), RENAME_NOREPLACE) != 0) {
    const std::string error = strerror(errno);
    if (fd >= 0) close(fd);
    rmdir(building.c_str());
    return absl::UnavailableError(absl::StrCat("cannot create ", path, ": ", error));
  }
  return fd;
}

void RemoveAbandonedSharedMemory() {
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(Root(), ec)) {
    if (Sweepable(entry.path(), kNodePrefix)) RemoveIfAbandoned(entry.path());
  }
}

absl::StatusOr<std::unique_ptr<NodeSharedMemory>> NodeSharedMemory::Create(
    const std::string& node_id) {
  RemoveAbandonedSharedMemory();
  const std::string dir = absl::StrCat(Root(), "/", kNodePrefix, node_id);
  auto fd = CreateLockedDir(dir);
  if (!fd.ok()) return fd.status();
  return std::unique_ptr<NodeSharedMemory>(new NodeSharedMemory(dir, *fd));
}

NodeSharedMemory::~NodeSharedMemory() {
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
  close(lock_fd_);
}

}  // namespace weft
