#include "worker/object_store.h"

namespace weft::worker {

void ObjectStore::Put(const std::string& id, Bytes bytes) {
  absl::MutexLock lock(&mu_);
  objects_[id] = std::move(bytes);
}

ObjectStore::Bytes ObjectStore::Get(const std::string& id) const {
  absl::MutexLock lock(&mu_);
  auto it = objects_.find(id);
  return it == objects_.end() ? nullptr : it->second;
}

size_t ObjectStore::size() const {
  absl::MutexLock lock(&mu_);
  return objects_.size();
}

}  // namespace weft::worker
