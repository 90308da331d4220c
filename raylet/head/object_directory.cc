#include "raylet/head/object_directory.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "common/logging.h"

namespace weft::head {

std::string ObjectDirectory::OwnerKey(const Owner& owner) {
  return owner.worker_id.empty() ? absl::StrCat("job/", owner.job_id) : owner.worker_id;
}

absl::Status ObjectDirectory::Recover(TableStore& store) {
  auto rows = LoadMessages<proto::ObjectInfo>(store, kObjectsTable);
  if (!rows.ok()) return rows.status();
  absl::MutexLock lock(&mu_);
  store_ = &store;
  for (const auto& info : *rows) {
    Object& object = objects_[info.object_id()];
    object.copies.assign(info.locations().begin(), info.locations().end());
    object.owner = Owner{info.owner(), info.owner_worker_id()};
  }
  return absl::OkStatus();
}

TableStore::Change ObjectDirectory::RowOf(const std::string& object_id, const Object& object) {
  proto::ObjectInfo info;
  info.set_object_id(object_id);
  info.set_owner(object.owner.job_id);
  info.set_owner_worker_id(object.owner.worker_id);
  for (const auto& copy : object.copies) *info.add_locations() = copy;
  return head::RowOf(kObjectsTable, object_id, info);
}

TableStore::Change ObjectDirectory::RowLocked(const std::string& object_id) const {
  auto it = objects_.find(object_id);
  if (it == objects_.end()) return {kObjectsTable, object_id, std::nullopt};
  return RowOf(object_id, it->second);
}

void ObjectDirectory::SaveLocked(std::vector<TableStore::Change> changes) {
  if (auto stored = Persist(store_, changes); !stored.ok()) {
    spdlog::error("{} ({} changes)", stored.message(), changes.size());
  }
}

absl::Status ObjectDirectory::Add(const std::string& object_id,
                                  const proto::ObjectLocation& location, const Owner& owner) {
  if (object_id.empty() || location.worker_id().empty()) {
    return absl::InvalidArgumentError("object location needs object_id and worker_id");
  }
  absl::MutexLock lock(&mu_);
  const bool known_owner = !owner.job_id.empty() || !owner.worker_id.empty();
  if (known_owner && gone_owners_.contains(OwnerKey(owner))) {
    return absl::FailedPreconditionError(absl::StrCat("the owner of object ", object_id, " (",
                                                      OwnerKey(owner),
                                                      ") has ended: nobody can ask for it"));
  }
  const auto before = objects_.find(object_id);
  Object object = before == objects_.end() ? Object() : before->second;
  std::erase_if(object.copies,
                [&](const auto& c) { return c.worker_id() == location.worker_id(); });
  object.copies.push_back(location);
  if (known_owner) object.owner = owner;
  if (store_) {
    if (auto stored = Persist(store_, {RowOf(object_id, object)}); !stored.ok()) return stored;
  }
  objects_[object_id] = std::move(object);
  return absl::OkStatus();
}

void ObjectDirectory::MarkSpilled(const std::string& object_id, const std::string& worker_id) {
  absl::MutexLock lock(&mu_);
  auto it = objects_.find(object_id);
  if (it == objects_.end()) return;
  for (auto& copy : it->second.copies) {
    if (copy.worker_id() == worker_id) copy.set_spilled(true);
  }
  SaveLocked({RowLocked(object_id)});
}

ObjectDirectory::Orphans ObjectDirectory::RemoveOwnedBy(const Owner& owner) {
  Orphans orphans;
  std::vector<TableStore::Change> changes;
  absl::MutexLock lock(&mu_);
  const std::string key = OwnerKey(owner);
  if (gone_owners_.insert(key).second) {
    gone_order_.push_back(key);
    if (gone_order_.size() > kGoneOwnersKept) {
      gone_owners_.erase(gone_order_.front());
      gone_order_.pop_front();
    }
  }
  for (auto it = objects_.begin(); it != objects_.end();) {
    if (OwnerKey(it->second.owner) != key) {
      ++it;
      continue;
    }
    for (const auto& copy : it->second.copies) orphans[copy.address()].push_back(it->first);
    changes.push_back({kObjectsTable, it->first, std::nullopt});
    objects_.erase(it++);
  }
  SaveLocked(std::move(changes));
  return orphans;
}

std::vector<proto::ObjectInfo> ObjectDirectory::List() const {
  absl::MutexLock lock(&mu_);
  std::vector<proto::ObjectInfo> out;
  for (const auto& [id, object] : objects_) {
    proto::ObjectInfo info;
    info.set_object_id(id);
    info.set_owner(object.owner.job_id);
    info.set_owner_worker_id(object.owner.worker_id);
    for (const auto& c : object.copies) *info.add_locations() = c;
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
  std::erase_if(it->second.copies, [&](const auto& c) { return c.worker_id() == worker_id; });
  if (it->second.copies.empty()) objects_.erase(it);
  SaveLocked({RowLocked(object_id)});
}

std::vector<proto::ObjectLocation> ObjectDirectory::Locations(const std::string& object_id) const {
  absl::MutexLock lock(&mu_);
  auto it = objects_.find(object_id);
  if (it == objects_.end()) return {};
  return it->second.copies;
}

int ObjectDirectory::RemoveNode(const std::string& node_id) {
  return RemoveCopies([&](const proto::ObjectLocation& c) { return c.node_id() == node_id; });
}

int ObjectDirectory::RemoveWorker(const std::string& worker_id) {
  return RemoveCopies([&](const proto::ObjectLocation& c) { return c.worker_id() == worker_id; });
}

int ObjectDirectory::RemoveCopies(const std::function<bool(const proto::ObjectLocation&)>& gone) {
  absl::MutexLock lock(&mu_);
  int removed = 0;
  std::vector<std::string> changed;
  for (auto it = objects_.begin(); it != objects_.end();) {
    const auto dropped = std::erase_if(it->second.copies, gone);
    removed += static_cast<int>(dropped);
    if (dropped > 0) changed.push_back(it->first);
    if (it->second.copies.empty()) {
      objects_.erase(it++);
    } else {
      ++it;
    }
  }
  std::vector<TableStore::Change> changes;
  for (const auto& id : changed) changes.push_back(RowLocked(id));
  SaveLocked(std::move(changes));
  return removed;
}

}  // namespace weft::head
