#include "raylet/head/object_directory.h"

#include <algorithm>

namespace weft::head {

absl::Status ObjectDirectory::Add(const std::string& object_id,
                                  const proto::ObjectLocation& location, const std::string& owner) {
  if (object_id.empty() || location.worker_id().empty()) {
    return absl::InvalidArgumentError("object location needs object_id and worker_id");
  }
  absl::MutexLock lock(&mu_);
  auto& copies = objects_[object_id];
  std::erase_if(copies, [&](const auto& c) { return c.worker_id() == location.worker_id(); });
  copies.push_back(location);
  if (!owner.empty()) owners_[object_id] = owner;
  return absl::OkStatus();
}

std::vector<proto::ObjectInfo> ObjectDirectory::List() const {
  absl::MutexLock lock(&mu_);
  std::vector<proto::ObjectInfo> out;
  for (const auto& [id, copies] : objects_) {
    proto::ObjectInfo info;
    info.set_object_id(id);
    if (auto it = owners_.find(id); it != owners_.end()) info.set_owner(it->second);
    for (const auto& c : copies) *info.add_locations() = c;
    out.push_back(std::move(info));
  }
  std::sort(out.begin(), out.end(),
            [](const auto& a, const auto& b) { return a.object_id() < b.object_id(); });
  return out;
}

void ObjectDirectory::Remove(const std::string& object_id, const std::string& worker_id) {
  absl::MutexLock lock(&mu_);
  auto it = objects_.find(object_id);
  if (it == objects_.end()) return;
  std::erase_if(it->second, [&](const auto& c) { return c.worker_id() == worker_id; });
  if (it->second.empty()) objects_.erase(it);
}

std::vector<proto::ObjectLocation> ObjectDirectory::Locations(const std::string& object_id) const {
  absl::MutexLock lock(&mu_);
  auto it = objects_.find(object_id);
  if (it == objects_.end()) return {};
  return it->second;
}

int ObjectDirectory::RemoveNode(const std::string& node_id) {
  absl::MutexLock lock(&mu_);
  int removed = 0;
  for (auto it = objects_.begin(); it != objects_.end();) {
    removed += std::erase_if(it->second, [&](const auto& c) { return c.node_id() == node_id; });
    if (it->second.empty()) {
      objects_.erase(it++);
    } else {
      ++it;
    }
  }
  return removed;
}

}  // namespace weft::head
