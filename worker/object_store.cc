#include "worker/object_store.h"

namespace weft::worker {

void ObjectStore::Put(const std::string& id, const std::string& job_id, Bytes bytes) {
  absl::MutexLock lock(&mu_);
  objects_[id] = Stored{job_id, std::move(bytes)};
}

ObjectStore::Bytes ObjectStore::Get(const std::string& id) const {
  absl::MutexLock lock(&mu_);
  auto it = objects_.find(id);
  return it == objects_.end() ? nullptr : it->second.bytes;
}

int ObjectStore::DropJob(const std::string& job_id) {
  absl::MutexLock lock(&mu_);
  int dropped = 0;
  for (auto it = objects_.begin(); it != objects_.end();) {
    if (it->second.job_id == job_id) {
      objects_.erase(it++);
      ++dropped;
    } else {
      ++it;
    }
  }
  return dropped;
}

size_t ObjectStore::size() const {
  absl::MutexLock lock(&mu_);
  return objects_.size();
}

}  // namespace weft::worker
