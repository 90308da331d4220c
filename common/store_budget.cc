#include "common/store_budget.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <new>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "spdlog/spdlog.h"

namespace weft {

struct StoreBudget::Counters {
  std::atomic<int64_t> capacity;
  std::atomic<int64_t> used;
  std::atomic<int64_t> peak;
  std::atomic<int64_t> spilled_bytes;
  std::atomic<int64_t> spilled_objects;
  std::atomic<int64_t> spills;
  std::atomic<int64_t> restores;
};
static_assert(std::atomic<int64_t>::is_always_lock_free, "counters are shared between processes");

namespace {

std::string BudgetPath(const std::string& node_dir) { return node_dir + "/budget"; }
std::string WorkerDir(const std::string& node_dir, const std::string& worker_id) {
  return node_dir + "/" + worker_id;
}
// The node's shared memory, through the link in its folder.
std::string MemoryDir(const std::string& node_dir) { return node_dir + "/memory"; }

// Maps the counters file at `path`; `create` makes it (zeroed) first.
absl::StatusOr<void*> MapCounters(const std::string& path, bool create, size_t size) {
  const int fd = open(path.c_str(), O_RDWR | O_CLOEXEC | (create ? O_CREAT | O_TRUNC : 0), 0600);
  if (fd < 0) {
    return absl::UnavailableError(absl::StrCat("cannot open ", path, ": ", strerror(errno)));
  }
  if (create && ftruncate(fd, static_cast<off_t>(size)) != 0) {
    const int error = errno;
    close(fd);
    return absl::UnavailableError(absl::StrCat("cannot size ", path, ": ", strerror(error)));
  }
  void* mapped = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  const int error = errno;
  close(fd);
  if (mapped == MAP_FAILED) {
    return absl::UnavailableError(absl::StrCat("cannot map ", path, ": ", strerror(error)));
  }
  return mapped;
}

}  // namespace

StoreBudget::StoreBudget(std::string node_dir, Counters* node, Counters* own)
    : node_dir_(std::move(node_dir)), node_(node), own_(own) {}

StoreBudget::~StoreBudget() {
  munmap(node_, sizeof(Counters));
  if (own_) {
    munmap(own_, sizeof(Counters));
  } else {
    std::error_code ec;  // the raylet's: the node's files go with it
    std::filesystem::remove_all(node_dir_, ec);
  }
}

int64_t StoreBudget::DefaultCapacity() {
  const int64_t pages = sysconf(_SC_PHYS_PAGES);
  const int64_t page = sysconf(_SC_PAGE_SIZE);
  return pages > 0 && page > 0 ? pages * page / 10 * 3 : int64_t{2} << 30;
}

absl::StatusOr<std::unique_ptr<StoreBudget>> StoreBudget::Create(const std::string& node_dir,
                                                                 int64_t capacity) {
  std::error_code ec;
  std::filesystem::create_directories(node_dir, ec);
  if (ec)
    return absl::UnavailableError(absl::StrCat("cannot create ", node_dir, ": ", ec.message()));
  auto mapped = MapCounters(BudgetPath(node_dir), /*create=*/true, sizeof(Counters));
  if (!mapped.ok()) return mapped.status();
  auto* node = new (*mapped) Counters{};
  node->capacity = capacity;
  std::unique_ptr<StoreBudget> budget(new StoreBudget(node_dir, node, nullptr));
  auto memory = NodeSharedMemory::Create(std::filesystem::path(node_dir).filename());
  if (memory.ok() && symlink((*memory)->dir().c_str(), MemoryDir(node_dir).c_str()) == 0) {
    budget->memory_ = *std::move(memory);
    budget->shared_ = true;
  } else {
    spdlog::warn(
        "no shared memory for the object store; workers keep values in their own "
        "memory error=\"{}\"",
        memory.ok() ? std::string(strerror(errno)) : memory.status().ToString());
  }
  return budget;
}

absl::StatusOr<std::unique_ptr<StoreBudget>> StoreBudget::Join(const std::string& node_dir,
                                                               const std::string& worker_id) {
  auto node = MapCounters(BudgetPath(node_dir), /*create=*/false, sizeof(Counters));
  if (!node.ok()) return node.status();
  const std::string dir = WorkerDir(node_dir, worker_id);
  std::error_code ec;
  std::filesystem::create_directories(dir + "/spilled", ec);
  auto own = ec ? absl::StatusOr<void*>(absl::UnavailableError(
                      absl::StrCat("cannot create ", dir, "/spilled: ", ec.message())))
                : MapCounters(dir + "/account", /*create=*/true, sizeof(Counters));
  if (!own.ok()) {
    munmap(*node, sizeof(Counters));
    return own.status();
  }
  std::unique_ptr<StoreBudget> budget(
      new StoreBudget(node_dir, static_cast<Counters*>(*node), new (*own) Counters{}));
  budget->worker_id_ = worker_id;
  // Only where the raylet linked the node's shared memory (never a folder of the same name).
  const std::string memory = MemoryDir(node_dir) + "/" + worker_id;
  budget->shared_ = std::filesystem::is_directory(MemoryDir(node_dir), ec) &&
                    (mkdir(memory.c_str(), 0700) == 0 || errno == EEXIST);
  return budget;
}

std::string StoreBudget::ValuePath(const std::string& node_dir, const std::string& worker_id,
                                   const std::string& object_id, bool spilled) {
  return absl::StrCat(
      spilled ? WorkerDir(node_dir, worker_id) + "/spilled" : MemoryDir(node_dir) + "/" + worker_id,
      "/", absl::BytesToHexString(object_id));  // ids come off the wire
}

std::string StoreBudget::MemoryPath(const std::string& object_id) const {
  return shared_ ? ValuePath(node_dir_, worker_id_, object_id, false) : "";
}

std::string StoreBudget::SpillPath(const std::string& object_id) const {
  return ValuePath(node_dir_, worker_id_, object_id, true);
}

int64_t StoreBudget::capacity() const { return node_->capacity.load(); }

bool StoreBudget::Reserve(int64_t bytes) {
  int64_t used = node_->used.load();
  do {
    if (used + bytes > node_->capacity.load()) return false;
  } while (!node_->used.compare_exchange_weak(used, used + bytes));
  if (own_) own_->used += bytes;
  int64_t peak = node_->peak.load();
  while (used + bytes > peak && !node_->peak.compare_exchange_weak(peak, used + bytes)) {
  }
  return true;
}

void StoreBudget::Release(int64_t bytes) {
  node_->used -= bytes;
  if (own_) own_->used -= bytes;
}

void StoreBudget::Spilled(int64_t bytes, int sign) {
  for (Counters* c : {node_, own_}) {
    if (!c) continue;
    c->spilled_bytes += sign * bytes;
    c->spilled_objects += sign;
  }
  if (sign > 0) ++node_->spills;
}

void StoreBudget::Restored() { ++node_->restores; }

proto::ObjectStoreFigures StoreBudget::Figures() const {
  proto::ObjectStoreFigures figures;
  figures.set_capacity_bytes(node_->capacity.load());
  figures.set_used_bytes(node_->used.load());
  figures.set_peak_bytes(node_->peak.load());
  figures.set_spilled_bytes(node_->spilled_bytes.load());
  figures.set_spilled_objects(node_->spilled_objects.load());
  figures.set_spills(node_->spills.load());
  figures.set_restores(node_->restores.load());
  return figures;
}

void StoreBudget::Reclaim(const std::string& worker_id) {
  const std::string dir = WorkerDir(node_dir_, worker_id);
  std::error_code ec;
  if (!std::filesystem::exists(dir + "/account", ec)) return;
  auto mapped = MapCounters(dir + "/account", /*create=*/false, sizeof(Counters));
  if (mapped.ok()) {
    auto* own = static_cast<Counters*>(*mapped);
    node_->used -= own->used.load();
    node_->spilled_bytes -= own->spilled_bytes.load();
    node_->spilled_objects -= own->spilled_objects.load();
    munmap(*mapped, sizeof(Counters));
  }
  std::filesystem::remove_all(dir, ec);
  std::filesystem::remove_all(MemoryDir(node_dir_) + "/" + worker_id, ec);
}

void StoreBudget::RemoveAbandonedSharedFolders() {
  if (!shared_) return;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(MemoryDir(node_dir_), ec)) {
    if (Sweepable(entry.path(), kDriverFolderPrefix)) {
      RemoveIfAbandoned(entry.path());
    }
  }
}

}  // namespace weft
