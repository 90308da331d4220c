#include "client/src/shared_bytes.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <memory>

#include "absl/strings/str_cat.h"
#include "common/ids.h"
#include "common/shared_memory.h"
#include "common/store_budget.h"

namespace weft::internal {

absl::StatusOr<Bytes> MapFile(const std::string& path) {
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return absl::NotFoundError(absl::StrCat("cannot open ", path, ": ", strerror(errno)));
  }
  struct stat info {};
  if (fstat(fd, &info) != 0) {
    const int error = errno;
    close(fd);
    return absl::UnavailableError(absl::StrCat("cannot stat ", path, ": ", strerror(error)));
  }
  const auto size = static_cast<size_t>(info.st_size);
  if (size == 0) {
    close(fd);
    return MakeBytes("");
  }
  void* mapped = mmap(nullptr, size, PROT_READ, MAP_SHARED, fd, 0);
  const int error = errno;
  close(fd);  // the mapping stays
  if (mapped == MAP_FAILED) {
    return absl::UnavailableError(absl::StrCat("cannot map ", path, ": ", strerror(error)));
  }
  std::shared_ptr<const void> keeper(mapped,
                                     [size](const void* p) { munmap(const_cast<void*>(p), size); });
  return std::make_shared<const Buffer>(static_cast<const char*>(mapped), size, std::move(keeper));
}

absl::Status WriteFile(const std::string& path, std::string_view bytes) {
  const int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) {
    return absl::UnavailableError(absl::StrCat("cannot create ", path, ": ", strerror(errno)));
  }
  // Its whole size first: a full filesystem fails here at once, before anything is written.
  int error = bytes.empty() ? 0 : posix_fallocate(fd, 0, static_cast<off_t>(bytes.size()));
  size_t written = 0;
  while (error == 0 && written < bytes.size()) {
    const ssize_t n = write(fd, bytes.data() + written, bytes.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) error = n < 0 ? errno : ENOSPC;
    if (n > 0) written += static_cast<size_t>(n);
  }
  close(fd);
  if (error == 0) return absl::OkStatus();
  unlink(path.c_str());
  return absl::UnavailableError(absl::StrCat("cannot write ", path, ": ", strerror(error)));
}

Bytes MapStoredObject(const std::string& objects_dir, const std::string& id,
                      const proto::ObjectLocation& location) {
  // Names from the wire become a path: nothing but plain ids.
  auto plain = [](const std::string& name) {
    return !name.empty() && std::all_of(name.begin(), name.end(), [](char c) {
      return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_';
    });
  };
  if (objects_dir.empty() || !plain(location.node_id()) || !plain(location.worker_id())) {
    return nullptr;
  }
  const std::string node_dir = absl::StrCat(objects_dir, "/", location.node_id());
  // Only from memory: a spilled value (or one spilled since the location was made) is streamed
  // from its file by its worker, where a disk error fails the fetch, not the reader's access.
  auto mapped = MapFile(StoreBudget::ValuePath(node_dir, location.worker_id(), id, false));
  if (mapped.ok() && static_cast<int64_t>((*mapped)->size()) == location.size_bytes()) {
    return *std::move(mapped);
  }
  return nullptr;
}

std::unique_ptr<PutFolder> PutFolder::ForWorker(const std::string& objects_dir,
                                                const std::string& node_id,
                                                const std::string& worker_id) {
  const std::string node_dir = absl::StrCat(objects_dir, "/", node_id);
  std::error_code ec;
  if (objects_dir.empty() || node_id.empty() ||
      !std::filesystem::is_directory(absl::StrCat(node_dir, "/memory/", worker_id), ec)) {
    return nullptr;
  }
  return std::unique_ptr<PutFolder>(new PutFolder(node_dir, node_id, worker_id, -1));
}

std::unique_ptr<PutFolder> PutFolder::ForDriver(const std::string& objects_dir) {
  const auto nodes = MappableNodes(objects_dir);
  if (nodes.empty()) return nullptr;
  const std::string node_dir = absl::StrCat(objects_dir, "/", nodes.front());
  const std::string name = absl::StrCat(StoreBudget::kDriverFolderPrefix, RandomHex(8));
  auto lock = CreateLockedDir(absl::StrCat(node_dir, "/memory/", name));
  if (!lock.ok()) return nullptr;
  return std::unique_ptr<PutFolder>(new PutFolder(node_dir, nodes.front(), name, *lock));
}

PutFolder::~PutFolder() {
  if (lock_fd_ < 0) return;  // a worker's goes with the worker
  std::error_code ec;
  std::filesystem::remove_all(absl::StrCat(node_dir_, "/memory/", name_), ec);
  close(lock_fd_);
}

Bytes PutFolder::Share(const std::string& id, std::string_view bytes) const {
  const std::string path = StoreBudget::ValuePath(node_dir_, name_, id, /*spilled=*/false);
  if (!WriteFile(path, bytes).ok()) return nullptr;
  auto mapped = MapFile(path);
  if (!mapped.ok()) {
    unlink(path.c_str());
    return nullptr;
  }
  // The file goes with the mapping: the value is freed here.
  std::shared_ptr<const void> keeper(new Bytes(*mapped), [path](const void* held) {
    unlink(path.c_str());
    delete static_cast<const Bytes*>(held);
  });
  return std::make_shared<const Buffer>((*mapped)->data(), (*mapped)->size(), std::move(keeper));
}

proto::ObjectLocation PutFolder::Location(const std::string& id, int64_t size) const {
  proto::ObjectLocation location;
  location.set_node_id(node_id_);
  location.set_worker_id(name_);
  location.set_size_bytes(size);
  return location;
}

std::vector<std::string> MappableNodes(const std::string& objects_dir) {
  std::vector<std::string> nodes;
  std::error_code ec;
  if (objects_dir.empty()) return nodes;
  for (const auto& entry : std::filesystem::directory_iterator(objects_dir, ec)) {
    std::error_code link;
    if (std::filesystem::is_directory(entry.path() / "memory", link)) {
      nodes.push_back(entry.path().filename());
    }
  }
  return nodes;
}

}  // namespace weft::internal
