#include "client/src/shared_bytes.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <memory>

#include "absl/strings/str_cat.h"
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
  size_t written = 0;
  while (written < bytes.size()) {
    const ssize_t n = write(fd, bytes.data() + written, bytes.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const int error = n < 0 ? errno : ENOSPC;
      close(fd);
      unlink(path.c_str());
      const std::string message = absl::StrCat("cannot write ", path, ": ", strerror(error));
      return error == ENOSPC ? absl::ResourceExhaustedError(message)
                             : absl::UnavailableError(message);
    }
    written += static_cast<size_t>(n);
  }
  close(fd);
  return absl::OkStatus();
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
  // The location may be older than a spill: look in memory first, then in the spill folder.
  for (bool spilled : {false, true}) {
    auto mapped = MapFile(StoreBudget::ValuePath(node_dir, location.worker_id(), id, spilled));
    if (mapped.ok() && static_cast<int64_t>((*mapped)->size()) == location.size_bytes()) {
      return *std::move(mapped);
    }
  }
  return nullptr;
}

}  // namespace weft::internal
