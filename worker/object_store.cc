#include "worker/object_store.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "client/src/shared_bytes.h"

namespace weft::worker {

ObjectStore::ObjectStore(std::unique_ptr<StoreBudget> budget) : budget_(std::move(budget)) {}

// The budget's account and spill files stay: the raylet reclaims them when this process has
// exited (however it exits), so an orderly exit and a SIGKILL end the same way.
ObjectStore::~ObjectStore() = default;

ObjectStore::Bytes ObjectStore::Share(const std::string& id, Bytes bytes) const {
  if (!budget_) return bytes;
  const std::string path = budget_->MemoryPath(id);
  if (path.empty() || !internal::WriteFile(path, bytes->view()).ok()) return bytes;
  auto mapped = internal::MapFile(path);
  if (mapped.ok()) return *std::move(mapped);
  unlink(path.c_str());
  return bytes;
}

void ObjectStore::Unshare(const std::string& id, const Stored& stored) const {
  if (stored.bytes && stored.bytes->shared()) unlink(budget_->MemoryPath(id).c_str());
}

bool ObjectStore::MakeRoomLocked(int64_t bytes, std::vector<std::string>* spilled) {
  while (!budget_->Reserve(bytes)) {
    if (in_memory_.empty()) return false;
    const std::string victim = std::move(in_memory_.front());
    in_memory_.pop_front();
    auto it = objects_.find(victim);
    if (it == objects_.end() || !it->second.bytes) continue;  // freed or spilled already
    if (!internal::WriteFile(budget_->SpillPath(victim), it->second.bytes->view()).ok()) {
      return false;
    }
    Unshare(victim, it->second);
    it->second.bytes = nullptr;  // a fetch or a mapping in progress keeps its own reference
    budget_->Release(it->second.size);
    budget_->Spilled(it->second.size, +1);
    if (spilled) spilled->push_back(victim);
  }
  return true;
}

absl::Status ObjectStore::Put(const std::string& id, Bytes bytes,
                              std::vector<std::string>* spilled) {
  const auto size = static_cast<int64_t>(bytes->size());
  if (budget_ && size > budget_->capacity()) {
    return absl::ResourceExhaustedError(
        absl::StrCat("a result of ", size, " bytes can never fit in its node's object store of ",
                     budget_->capacity(), " bytes (--object-store-memory)"));
  }
  Free({id});  // a value stored again replaces the old one
  bool reserved = true;
  {
    absl::MutexLock lock(&mu_);
    reserved = !budget_ || MakeRoomLocked(size, spilled);
  }
  if (reserved) {
    bytes = Share(id, std::move(bytes));  // outside the lock: a copy of the whole value
    absl::MutexLock lock(&mu_);
    objects_[id] = Stored{std::move(bytes), size};
    in_memory_.push_back(id);
    return absl::OkStatus();
  }
  if (auto written = internal::WriteFile(budget_->SpillPath(id), bytes->view()); !written.ok()) {
    return written;
  }
  absl::MutexLock lock(&mu_);
  objects_[id] = Stored{nullptr, size};
  budget_->Spilled(size, +1);
  if (spilled) spilled->push_back(id);
  return absl::OkStatus();
}

std::optional<ObjectStore::Source> ObjectStore::Open(const std::string& id) const {
  absl::MutexLock lock(&mu_);
  auto it = objects_.find(id);
  if (it == objects_.end()) return std::nullopt;
  Source source;
  source.size = it->second.size;
  if (it->second.bytes) {
    source.bytes = it->second.bytes;
    return source;
  }
  source.fd = open(budget_->SpillPath(id).c_str(), O_RDONLY | O_CLOEXEC);
  if (source.fd < 0) return std::nullopt;
  budget_->Restored();
  return source;
}

std::vector<std::string> ObjectStore::Free(const std::vector<std::string>& ids) {
  std::vector<Bytes> dropped;  // released after the lock
  std::vector<std::string> freed;
  absl::MutexLock lock(&mu_);
  for (const auto& id : ids) {
    auto it = objects_.find(id);
    if (it == objects_.end()) continue;
    if (budget_ && it->second.bytes) {
      Unshare(id, it->second);
      budget_->Release(it->second.size);
    } else if (budget_) {
      unlink(budget_->SpillPath(id).c_str());
      budget_->Spilled(it->second.size, -1);
    }
    dropped.push_back(std::move(it->second.bytes));
    objects_.erase(it);
    freed.push_back(id);
  }
  if (in_memory_.size() > 2 * objects_.size() + 64) {  // drop the ids freed since
    std::erase_if(in_memory_, [&](const std::string& id) {
      auto it = objects_.find(id);
      return it == objects_.end() || !it->second.bytes;
    });
  }
  return freed;
}

bool ObjectStore::Spilled(const std::string& id) const {
  absl::MutexLock lock(&mu_);
  auto it = objects_.find(id);
  return it != objects_.end() && !it->second.bytes;
}

size_t ObjectStore::size() const {
  absl::MutexLock lock(&mu_);
  return objects_.size();
}

}  // namespace weft::worker
