#include "worker/object_store.h"

namespace weft::worker {

void ObjectStore::Put(const std::string& id, Bytes bytes) {
  absl::MutexLock lock(&mu_);
  auto& slot = objects_[id];
  if (slot) bytes_ -= slot->size();
  bytes_ += bytes->size();
  slot = std::move(bytes);
}

ObjectStore::Bytes ObjectStore::Get(const std::string& id) const {
  absl::MutexLock lock(&mu_);
  auto it = objects_.find(id);
  return it == objects_.end() ? nullptr : it->second;
}

std::vector<std::string> ObjectStore::Free(const std::vector<std::string>& ids) {
  std::vector<Bytes> dropped;  // released after the lock
  std::vector<std::string> freed;
  absl::MutexLock lock(&mu_);
  for (const auto& id : ids) {
    auto it = objects_.find(id);
    if (it == objects_.end()) continue;
    bytes_ -= it->second->size();
    dropped.push_back(std::move(it->second));
    objects_.erase(it);
    freed.push_back(id);
  }
  return freed;
}

size_t ObjectStore::size() const {
  absl::MutexLock lock(&mu_);
  return objects_.size();
}

size_t ObjectStore::bytes() const {
  absl::MutexLock lock(&mu_);
  return bytes_;
}

}  // namespace weft::worker
