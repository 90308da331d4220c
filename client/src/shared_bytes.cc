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

namespace {

// Names from the wire become a path: nothing but plain ids.
bool PlainName(const std::string& name) {
  return !name.empty() && std::all_of(name.begin(), name.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_';
  });
}

}  // namespace

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

absl::StatusOr<std::unique_ptr<FileWriter>> FileWriter::Create(const std::string& path,
                                                               size_t size) {
  // Written under a name of its own, then renamed: a reader of `path` sees the whole file or
  // none, and two writers of one path do not write into one file.
  std::string part = absl::StrCat(path, ".part-", RandomHex(4));
  // Read as well as written: ReadBack.
  const int fd = open(part.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) {
    return absl::UnavailableError(absl::StrCat("cannot create ", part, ": ", strerror(errno)));
  }
  std::unique_ptr<FileWriter> writer(new FileWriter(path, std::move(part), fd, size));
  if (const int error = size == 0 ? 0 : posix_fallocate(fd, 0, static_cast<off_t>(size))) {
    return absl::UnavailableError(absl::StrCat("cannot write ", path, ": ", strerror(error)));
  }
  return writer;
}

FileWriter::FileWriter(std::string path, std::string part, int fd, size_t size)
    : path_(std::move(path)), part_(std::move(part)), fd_(fd), size_(size) {}

FileWriter::~FileWriter() {
  close(fd_);
  if (!committed_) unlink(part_.c_str());
}

absl::Status FileWriter::Append(std::string_view bytes) {
  if (written_ + bytes.size() > size_) {
    return absl::UnavailableError(
        absl::StrCat("cannot write ", path_, ": more than ", size_, " bytes"));
  }
  // Counted only once all of them are written: ReadBack then has every piece whole or not at
  // all, and a reader going on in memory appends the failed piece itself.
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n =
        pwrite(fd_, bytes.data() + done, bytes.size() - done, static_cast<off_t>(written_ + done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      return absl::UnavailableError(
          absl::StrCat("cannot write ", path_, ": ", strerror(n < 0 ? errno : ENOSPC)));
    }
    done += static_cast<size_t>(n);
  }
  written_ += done;
  return absl::OkStatus();
}

absl::Status FileWriter::Commit() {
  if (written_ != size_) {
    return absl::UnavailableError(
        absl::StrCat("cannot write ", path_, ": ", written_, " of ", size_, " bytes written"));
  }
  // Never over a file already there: someone may map it (a value of one id is the same bytes).
  if (renameat2(AT_FDCWD, part_.c_str(), AT_FDCWD, path_.c_str(), RENAME_NOREPLACE) != 0 &&
      errno != EEXIST) {
    return absl::UnavailableError(absl::StrCat("cannot write ", path_, ": ", strerror(errno)));
  }
  committed_ = true;
  unlink(part_.c_str());  // a no-op once renamed
  return absl::OkStatus();
}

absl::StatusOr<std::string> FileWriter::ReadBack() const {
  std::string bytes(written_, '\0');
  size_t done = 0;
  while (done < written_) {
    const ssize_t n = pread(fd_, bytes.data() + done, written_ - done, static_cast<off_t>(done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      return absl::UnavailableError(
          absl::StrCat("cannot read ", part_, " back: ", n < 0 ? strerror(errno) : "short read"));
    }
    done += static_cast<size_t>(n);
  }
  return bytes;
}

absl::Status WriteFile(const std::string& path, std::string_view bytes) {
  auto writer = FileWriter::Create(path, bytes.size());
  if (!writer.ok()) return writer.status();
  if (auto appended = (*writer)->Append(bytes); !appended.ok()) return appended;
  return (*writer)->Commit();
}

Bytes MapStoredObject(const std::string& objects_dir, const std::string& id,
                      const proto::ObjectLocation& location) {
  if (objects_dir.empty() || !PlainName(location.node_id()) || !PlainName(location.worker_id())) {
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

StoredCopy CheckStoredCopy(const std::string& objects_dir, const std::string& id,
                           const proto::ObjectLocation& location) {
  if (objects_dir.empty() || !PlainName(location.node_id()) || !PlainName(location.worker_id())) {
    return StoredCopy::kElsewhere;
  }
  const std::string node_dir = absl::StrCat(objects_dir, "/", location.node_id());
  std::error_code ec;
  if (!std::filesystem::is_directory(node_dir + "/memory", ec)) return StoredCopy::kElsewhere;
  for (bool spilled : {false, true}) {
    struct stat info {};
    const auto path = StoreBudget::ValuePath(node_dir, location.worker_id(), id, spilled);
    if (stat(path.c_str(), &info) == 0) return StoredCopy::kHere;
  }
  return StoredCopy::kGone;
}

SharedFolder::SharedFolder(std::string objects_dir, std::string node_id, std::string worker_id)
    : objects_dir_(std::move(objects_dir)),
      node_id_(std::move(node_id)),
      name_(std::move(worker_id)) {}

bool SharedFolder::OpenLocked() {
  if (tried_) return !node_id_.empty();
  tried_ = true;
  std::error_code ec;
  if (objects_dir_.empty()) {
    node_id_.clear();
  } else if (!name_.empty()) {  // a worker's: its store's folder, made when it joined the store
    if (!std::filesystem::is_directory(absl::StrCat(objects_dir_, "/", node_id_, "/memory/", name_),
                                       ec)) {
      node_id_.clear();
    }
  } else if (const auto nodes = MappableNodes(objects_dir_); !nodes.empty()) {
    const std::string name = absl::StrCat(StoreBudget::kDriverFolderPrefix, RandomHex(8));
    auto lock = CreateLockedDir(absl::StrCat(objects_dir_, "/", nodes.front(), "/memory/", name));
    if (lock.ok()) {
      node_id_ = nodes.front();
      name_ = name;
      lock_fd_ = *lock;
    }
  }
  return !node_id_.empty();
}

SharedFolder::~SharedFolder() {
  absl::MutexLock lock(&mu_);
  if (lock_fd_ < 0) return;  // a worker's goes with the worker
  std::error_code ec;
  std::filesystem::remove_all(absl::StrCat(objects_dir_, "/", node_id_, "/memory/", name_), ec);
  close(lock_fd_);
}

namespace {

// Unmaps a Put value's file and removes it: the value is freed here.
struct PutFileRelease {
  PutFileRelease(Bytes mapped, std::string path)
      : mapped(std::move(mapped)), path(std::move(path)) {}
  ~PutFileRelease() { unlink(path.c_str()); }
  PutFileRelease(const PutFileRelease&) = delete;
  PutFileRelease& operator=(const PutFileRelease&) = delete;
  const Bytes mapped;
  const std::string path;
};

// The file at `path` of this process's folder, mapped; the file goes with the last copy.
Bytes MapOwnFile(const std::string& path, int64_t size) {
  auto mapped = MapFile(path);
  if (!mapped.ok() || static_cast<int64_t>((*mapped)->size()) != size) {
    unlink(path.c_str());
    return nullptr;
  }
  const char* data = (*mapped)->data();
  auto release = std::make_shared<const PutFileRelease>(*std::move(mapped), path);
  return std::make_shared<const Buffer>(data, static_cast<size_t>(size), std::move(release));
}

}  // namespace

std::string SharedFolder::PathOf(const std::string& id, bool copy) {
  absl::MutexLock lock(&mu_);
  if (!OpenLocked()) return "";
  return StoreBudget::ValuePath(absl::StrCat(objects_dir_, "/", node_id_), name_, id, false) +
         (copy ? kCopySuffix : "");
}

Bytes SharedFolder::Live(const std::string& id) {
  absl::MutexLock lock(&mu_);
  auto it = live_.find(id);
  return it == live_.end() ? nullptr : it->second.lock();
}

Bytes SharedFolder::Remember(const std::string& id, Bytes bytes) {
  if (!bytes) return bytes;
  absl::MutexLock lock(&mu_);
  if (live_.size() > 64) {  // forget the values gone since
    for (auto it = live_.begin(); it != live_.end();) {
      if (it->second.expired()) {
        live_.erase(it++);
      } else {
        ++it;
      }
    }
  }
  live_[id] = bytes;
  return bytes;
}

Bytes SharedFolder::Share(const std::string& id, std::string_view bytes) {
  const std::string path = PathOf(id, /*copy=*/false);
  if (path.empty() || !WriteFile(path, bytes).ok()) return nullptr;
  return Remember(id, MapOwnFile(path, static_cast<int64_t>(bytes.size())));
}

std::unique_ptr<FileWriter> SharedFolder::BeginCopy(const std::string& id, size_t size) {
  if (Live(id)) return nullptr;  // never a second file or keeper for one value
  const std::string path = PathOf(id, /*copy=*/true);
  if (path.empty()) return nullptr;
  auto writer = FileWriter::Create(path, size);
  return writer.ok() ? *std::move(writer) : nullptr;
}

Bytes SharedFolder::FinishCopy(const std::string& id, FileWriter& writer) {
  // Another fetch of the value may have finished meanwhile: its copy is the one.
  if (Bytes live = Live(id)) return live;
  if (!writer.Commit().ok()) return nullptr;
  return Remember(id, MapOwnFile(writer.path(), static_cast<int64_t>(writer.size())));
}

Bytes SharedFolder::FindOnNode(const std::string& id, int64_t size) {
  if (Bytes live = Live(id)) return live;
  const std::string path = PathOf(id, /*copy=*/true);
  if (path.empty()) return nullptr;
  const std::filesystem::path memory = std::filesystem::path(path).parent_path().parent_path();
  const std::string value = std::filesystem::path(PathOf(id, false)).filename();
  std::error_code ec;
  for (const auto& folder : std::filesystem::directory_iterator(memory, ec)) {
    // A worker's stored value, a Put value, or a copy another process fetched.
    for (const std::string& name : {value, value + kCopySuffix}) {
      const std::string found = (folder.path() / name).string();
      struct stat info {};
      if (found == path || stat(found.c_str(), &info) != 0 || info.st_size != size) continue;
      // A link of this folder's own: the bytes stay while this process holds them, whatever
      // the process that made them does.
      if (link(found.c_str(), path.c_str()) != 0) continue;
      if (Bytes mapped = MapOwnFile(path, size)) return Remember(id, std::move(mapped));
    }
  }
  return nullptr;
}

std::optional<proto::ObjectLocation> SharedFolder::Find(
    const std::string& id, int64_t size, const std::vector<std::string>& nodes) const {
  proto::ObjectLocation location;
  {
    absl::MutexLock lock(&mu_);
    if (node_id_.empty() || !tried_ ||
        std::find(nodes.begin(), nodes.end(), node_id_) == nodes.end()) {
      return std::nullopt;
    }
    location.set_node_id(node_id_);
    location.set_worker_id(name_);
  }
  location.set_size_bytes(size);
  struct stat info {};
  const std::string path = StoreBudget::ValuePath(
      absl::StrCat(objects_dir_, "/", location.node_id()), location.worker_id(), id, false);
  if (stat(path.c_str(), &info) != 0 || info.st_size != size) return std::nullopt;
  return location;
}

std::vector<std::string> MappableNodes(const std::string& objects_dir) {
  std::vector<std::string> nodes;
  std::error_code ec;
  if (objects_dir.empty()) return nodes;
  for (const auto& entry : std::filesystem::directory_iterator(objects_dir, ec)) {
    if (FolderHeld(entry.path() / "memory")) nodes.push_back(entry.path().filename());
  }
  return nodes;
}

}  // namespace weft::internal
