#include "common/shared_memory.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>

#include "absl/strings/str_cat.h"

namespace weft {
namespace {

constexpr char kPrefix[] = "weft-";

std::string Root() {
  const char* root = std::getenv("WEFT_SHM_DIR");
  return root && *root ? root : "/dev/shm";
}

// An open descriptor of folder `path` (or -1), closed on exec: a worker must not inherit the
// raylet's lock.
int OpenDir(const std::string& path) {
  return open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
}

}  // namespace

void RemoveAbandonedSharedMemory() {
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(Root(), ec)) {
    if (!entry.path().filename().string().starts_with(kPrefix)) continue;
    const int fd = OpenDir(entry.path());
    if (fd < 0) continue;
    // Taken: no raylet holds it. A raylet that created it a moment ago waits for this lock,
    // then finds its folder gone and makes it again.
    if (flock(fd, LOCK_EX | LOCK_NB) == 0) std::filesystem::remove_all(entry.path(), ec);
    close(fd);
  }
}

absl::StatusOr<std::unique_ptr<NodeSharedMemory>> NodeSharedMemory::Create(
    const std::string& node_id) {
  RemoveAbandonedSharedMemory();
  const std::string dir = absl::StrCat(Root(), "/", kPrefix, node_id);
  for (int attempt = 0; attempt < 3; ++attempt) {
    if (mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
      return absl::UnavailableError(absl::StrCat("cannot create ", dir, ": ", strerror(errno)));
    }
    const int fd = OpenDir(dir);
    if (fd < 0) continue;  // removed by another raylet's cleanup in between
    struct stat info {};
    if (flock(fd, LOCK_EX) == 0 && fstat(fd, &info) == 0 && info.st_nlink > 0) {
      return std::unique_ptr<NodeSharedMemory>(new NodeSharedMemory(dir, fd));
    }
    close(fd);
  }
  return absl::UnavailableError(absl::StrCat("cannot lock ", dir));
}

NodeSharedMemory::~NodeSharedMemory() {
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
  close(lock_fd_);
}

}  // namespace weft
