// ObjectTable, what each object is: entries made and erased, their value, location or error,
// and what happens when stored bytes are lost (see object_table.h).

#include "client/src/object_table.h"

#include "absl/strings/str_cat.h"
#include "common/ids.h"

namespace weft::internal {
namespace {

void RunAll(std::vector<ObjectTable::Callback>& callbacks) {
  for (auto& callback : callbacks) callback();
}

}  // namespace

ObjectTable::~ObjectTable() {
  // The holds inside entries (a Put value's references) release into this table: into an
  // empty one.
  Entries entries;
  {
    std::lock_guard lock(mu_);
    entries.swap(entries_);
  }
  for (auto& [id, entry] : entries) entry.inside.clear();
}

std::string ObjectTable::NewId() { return RandomHex(12); }

void ObjectTable::set_own_address(std::string address) {
  std::lock_guard lock(mu_);
  own_address_ = std::move(address);
}

void ObjectTable::AddPending(const std::string& id, bool held) {
  std::lock_guard lock(mu_);
  auto [it, added] = entries_.try_emplace(id);
  it->second.owned = true;
  if (held) ++it->second.holders;
}

ObjectTable::Dropped ObjectTable::EraseLocked(Entries::iterator it) {
  Dropped dropped;
  if (it->second.owned) dropped.free_at = std::move(it->second.stored_at);
  dropped.rebuild = std::move(it->second.rebuild);
  for (auto& wait : it->second.on_released) dropped.released.push_back(std::move(wait.first));
  dropped.inside = std::move(it->second.inside);
  dropped.value = std::move(it->second.value);
  dropped.erased = true;
  entries_.erase(it);
  return dropped;
}

void ObjectTable::AfterUnlock(const std::string& id, Dropped& dropped) {
  FreeAt(dropped.free_at, id);
  RunAll(dropped.released);
  dropped.rebuild = nullptr;
  dropped.inside.clear();
  dropped.value = nullptr;
  if (dropped.erased && on_erased_) on_erased_();
}

void ObjectTable::FreeAt(const std::string& address, const std::string& id) const {
  if (!address.empty() && io_.free) io_.free(address, id);
}

bool ObjectTable::AddBorrowed(const std::string& id, const std::string& owner) {
  std::lock_guard lock(mu_);
  auto [it, added] = entries_.try_emplace(id);
  // An entry made by a hold just before (an argument fetched here) knew no owner yet.
  if (!it->second.owned && it->second.owner.empty() && owner != own_address_) {
    it->second.owner = owner;
  }
  return it->second.owned;
}

uint64_t ObjectTable::OnResolvedLocked(Entry& entry, Callback callback) {
  const uint64_t key = ++last_key_;
  entry.on_resolved.emplace(key, std::move(callback));
  return key;
}

std::vector<ObjectTable::Callback> ObjectTable::TakeResolvedLocked(Entry& entry) {
  std::vector<Callback> callbacks;
  callbacks.reserve(entry.on_resolved.size());
  for (auto& [key, callback] : entry.on_resolved) callbacks.push_back(std::move(callback));
  entry.on_resolved.clear();
  return callbacks;
}

std::vector<ObjectTable::Callback> ObjectTable::Finish(Entry& entry) {
  std::vector<Callback> callbacks = TakeResolvedLocked(entry);
  for (auto& c : entry.on_ready) callbacks.push_back(std::move(c));
  entry.on_ready.clear();
  changed_.notify_all();
  return callbacks;
}

// An entry whose last waiters were callbacks (a Wait, a fetch for an argument) goes once they
// have their answer, if no ObjectRef holds it. (An entry nobody holds or awaits yet is about to
// be held: a decoded reference is set, then adopted.)
void ObjectTable::SetValue(const std::string& id, std::string bytes) {
  SetValue(id, MakeBytes(std::move(bytes)));
}

void ObjectTable::SetValue(const std::string& id, Bytes bytes) {
  std::vector<Callback> callbacks;
  Dropped dropped;
  {
    std::lock_guard lock(mu_);
    auto it = entries_.find(id);
    if (it == entries_.end() || Done(it->second)) return;  // nobody holds it, or known already
    it->second.state = State::kHere;
    it->second.value = std::move(bytes);
    dropped.rebuild = std::move(it->second.rebuild);  // the value is here: no lineage needed
    callbacks = Finish(it->second);
    if (!callbacks.empty() && Unused(it->second)) {
      Rebuild rebuild = std::move(dropped.rebuild);
      dropped = EraseLocked(it);
      dropped.rebuild = std::move(rebuild);
    }
  }
  RunAll(callbacks);
  AfterUnlock(id, dropped);
}

void ObjectTable::SetError(const std::string& id, proto::RemoteError error) {
  std::vector<Callback> callbacks;
  Dropped dropped;
  {
    std::lock_guard lock(mu_);
    auto it = entries_.find(id);
    if (it == entries_.end() || Done(it->second)) return;
    it->second.state = State::kFailed;
    it->second.error = std::move(error);
    dropped.rebuild = std::move(it->second.rebuild);
    ++failures_;
    callbacks = Finish(it->second);
    if (!callbacks.empty() && Unused(it->second)) {
      Rebuild rebuild = std::move(dropped.rebuild);
      dropped = EraseLocked(it);
      dropped.rebuild = std::move(rebuild);
    }
  }
  RunAll(callbacks);
  AfterUnlock(id, dropped);
}

void ObjectTable::SetLocation(const std::string& id, proto::ObjectLocation location) {
  SetLocationOf(id, std::move(location));
}

bool ObjectTable::SetLocationOf(const std::string& id, proto::ObjectLocation location) {
  std::vector<Callback> callbacks;
  bool fetch = false;
  Dropped dropped;
  {
    std::lock_guard lock(mu_);
    auto it = entries_.find(id);
    if (it == entries_.end()) return false;
    Entry& entry = it->second;
    if (entry.state != State::kPending) return true;
    entry.state = State::kLocated;
    if (entry.owned) entry.stored_at = location.address();
    entry.location = std::move(location);
    callbacks = TakeResolvedLocked(entry);
    fetch = entry.wanted || !entry.on_ready.empty();
    changed_.notify_all();
    if (!callbacks.empty() && Unused(entry)) dropped = EraseLocked(it);
  }
  RunAll(callbacks);
  if (fetch) MaybeFetch(id);
  AfterUnlock(id, dropped);
  return true;
}

void ObjectTable::SetResult(const std::string& id, proto::CallResult& result) {
  if (result.has_refs()) {
    std::lock_guard lock(mu_);
    if (auto it = entries_.find(id); it != entries_.end()) it->second.nested = true;
  }
  switch (result.outcome_case()) {
    case proto::CallResult::kValue:
      return SetValue(id, std::move(*result.mutable_value()));
    case proto::CallResult::kStored:
      return SetLocation(id, std::move(*result.mutable_stored()));
    default:
      return SetError(id, std::move(*result.mutable_error()));
  }
}

void ObjectTable::SetCallResult(const std::string& id, proto::CallResult& result, Rebuild rebuild) {
  if (result.refs_inside_size() > 0) AdoptInside(id, result);
  if (result.outcome_case() != proto::CallResult::kStored) return SetResult(id, result);
  const std::string address = result.stored().address();
  {
    std::lock_guard lock(mu_);
    auto it = entries_.find(id);
    if (it != entries_.end() && it->second.state == State::kPending) {
      std::swap(it->second.rebuild, rebuild);  // the old one (if any) goes after unlocking
      it->second.nested = result.has_refs();
    }
  }
  // Every reference to the result was dropped before it existed: nobody will fetch it.
  if (!SetLocationOf(id, std::move(*result.mutable_stored()))) FreeAt(address, id);
}

proto::RemoteError ObjectTable::LostError(const std::string& id, const Entry& entry,
                                          const std::string& why) const {
  proto::RemoteError error;
  error.set_code(static_cast<int>(absl::StatusCode::kNotFound));
  error.set_kind(proto::FAILURE_OBJECT_LOST);
  error.set_object_id(id);
  error.set_node_id(entry.location.node_id());
  error.set_worker_id(entry.location.worker_id());
  error.set_message(absl::StrCat(
      "object ", id, " (owner ", entry.owner.empty() ? own_address_ : entry.owner,
      ") is lost: its copy at worker ", entry.location.worker_id(), " (", entry.location.address(),
      ", node ", entry.location.node_id(), ") cannot be had: ", why));
  return error;
}

bool ObjectTable::Lost(const std::string& id, const std::string& lost_at, const std::string& why) {
  enum class Next { kRebuild, kAskOwner, kWait, kFail } next;
  Rebuild rebuild;
  std::string free_at;
  std::string lost_address;
  proto::RemoteError error;
  {
    std::lock_guard lock(mu_);
    auto it = entries_.find(id);
    if (it == entries_.end()) return false;
    Entry& entry = it->second;
    if (entry.state != State::kLocated && entry.state != State::kFetching) {
      return entry.state == State::kPending;  // being rebuilt (or asked for) already
    }
    if (!lost_at.empty() && entry.location.worker_id() != lost_at) return true;  // a newer copy
    error = LostError(id, entry, why);
    lost_address = entry.location.address();
    if (entry.owned && entry.rebuild) {
      rebuild = entry.rebuild;  // kept: the new copy may be lost too
      free_at = std::move(entry.stored_at);
      next = Next::kRebuild;
    } else if (!entry.owner.empty()) {
      entry.lost_at = entry.location.worker_id();
      next = entry.asking_owner ? Next::kWait : Next::kAskOwner;
      entry.asking_owner = true;
    } else {
      next = Next::kFail;
    }
    if (next != Next::kFail) {  // pending again: waiters stay, and fetch the new copy
      entry.state = State::kPending;
      entry.location.Clear();
      entry.stored_at.clear();
    }
  }
  FreeAt(free_at, id);  // whatever is left of the old copy
  switch (next) {
    case Next::kRebuild: {
      std::string why_not;
      if (rebuild(lost_address, &why_not)) return true;
      error.set_message(absl::StrCat(error.message(), "; ", why_not));
      SetError(id, std::move(error));
      return false;
    }
    case Next::kAskOwner:
      AskOwner(id);
      return true;
    case Next::kWait:
      return true;
    case Next::kFail:
      SetError(id, std::move(error));
      return false;
  }
  return false;
}

void ObjectTable::SetNote(const std::string& id, std::string note) {
  std::lock_guard lock(mu_);
  if (auto it = entries_.find(id); it != entries_.end()) it->second.note = std::move(note);
}

bool ObjectTable::Contains(const std::string& id) {
  std::lock_guard lock(mu_);
  return entries_.contains(id);
}

size_t ObjectTable::size() {
  std::lock_guard lock(mu_);
  return entries_.size();
}

}  // namespace weft::internal
