// ObjectTable, getting at an object's value: who waits for it (Get, Wait, WhenReady), fetching
// located bytes from the worker that stores them, and asking a borrowed object's owner (see
// object_table.h).

#include "absl/strings/str_cat.h"
#include "client/src/loop.h"
#include "client/src/object_table.h"
#include "client/src/remote_failure.h"
#include "weft/error.h"

namespace weft::internal {

bool ObjectTable::Ready(const std::string& id) {
  std::lock_guard lock(mu_);
  auto it = entries_.find(id);
  return it == entries_.end() || Done(it->second);
}

ObjectTable::Start ObjectTable::WantLocked(const std::string& id, Entry& entry, bool value) {
  Start start;
  if (value) {
    entry.wanted = true;
    start.fetch = entry.state == State::kLocated;
  }
  if (entry.state == State::kPending && !entry.owner.empty() && !entry.asking_owner) {
    entry.asking_owner = true;
    start.ask_owner = true;
  }
  return start;
}

void ObjectTable::Begin(const std::string& id, Start start) {
  if (start.fetch) MaybeFetch(id);
  if (start.ask_owner) AskOwner(id);
}

void ObjectTable::WhenReady(const std::string& id, Callback callback) {
  Start start;
  {
    std::lock_guard lock(mu_);
    auto it = entries_.find(id);
    if (it != entries_.end() && !Done(it->second)) {
      it->second.on_ready.push_back(std::move(callback));
      start = WantLocked(id, it->second, /*value=*/true);
      callback = nullptr;
    }
  }
  if (callback) callback();
  Begin(id, start);
}

uint64_t ObjectTable::WhenResolved(const std::string& id, Callback callback) {
  Start start;
  uint64_t key = 0;
  {
    std::lock_guard lock(mu_);
    auto it = entries_.find(id);
    if (it != entries_.end() && it->second.state == State::kPending) {
      key = OnResolvedLocked(it->second, std::move(callback));
      start = WantLocked(id, it->second, /*value=*/false);
      callback = nullptr;
    }
  }
  if (callback) callback();
  Begin(id, start);
  return key;
}

size_t ObjectTable::ResolveWaits(const std::string& id) {
  std::lock_guard lock(mu_);
  auto it = entries_.find(id);
  return it == entries_.end() ? 0 : it->second.on_resolved.size();
}

void ObjectTable::Withdraw(const std::string& id, uint64_t key) {
  Callback withdrawn;  // it may hold what takes the lock when it goes: after unlocking
  Dropped dropped;
  {
    std::lock_guard lock(mu_);
    auto it = entries_.find(id);
    if (it == entries_.end()) return;
    auto waiter = it->second.on_resolved.find(key);
    if (waiter == it->second.on_resolved.end()) return;
    withdrawn = std::move(waiter->second);
    it->second.on_resolved.erase(waiter);
    if (Unused(it->second)) dropped = EraseLocked(it);  // its last reference went meanwhile
  }
  withdrawn = nullptr;
  AfterUnlock(id, dropped);
}

void ObjectTable::MaybeFetch(const std::string& id) {
  proto::ObjectLocation location;
  {
    std::lock_guard lock(mu_);
    auto it = entries_.find(id);
    if (it == entries_.end() || it->second.state != State::kLocated) return;
    it->second.state = State::kFetching;
    location = it->second.location;
  }
  io_.fetch(id, location, [this, id, location](absl::StatusOr<Bytes> bytes) {
    if (bytes.ok()) {
      SetValue(id, *std::move(bytes));
      return;
    }
    if (bytes.status().code() != absl::StatusCode::kCancelled) {  // not a shutdown: lost there
      Lost(id, location.worker_id(),
           absl::StrCat("fetching it failed: ", bytes.status().message()));
      return;
    }
    proto::RemoteError error;
    error.set_code(static_cast<int>(bytes.status().code()));
    error.set_message(absl::StrCat("could not fetch object ", id, " from worker ",
                                   location.worker_id(), " at ", location.address(), ": ",
                                   bytes.status().message()));
    error.set_node_id(location.node_id());
    error.set_kind(proto::FAILURE_OBJECT_LOST);
    SetError(id, std::move(error));
  });
}

void ObjectTable::AskOwner(const std::string& id) {
  std::string owner;
  std::string lost_at;
  {
    std::lock_guard lock(mu_);
    auto it = entries_.find(id);
    if (it == entries_.end()) return;
    owner = it->second.owner;
    lost_at = it->second.lost_at;
  }
  io_.ask_owner(id, owner, lost_at, [this, id, owner](absl::StatusOr<proto::CallResult> answer) {
    OnOwnerAnswer(id, owner, std::move(answer));
  });
}

void ObjectTable::OnOwnerAnswer(const std::string& id, const std::string& owner,
                                absl::StatusOr<proto::CallResult> answer) {
  if ((answer.ok() && answer->outcome_case() == proto::CallResult::OUTCOME_NOT_SET) ||
      (!answer.ok() && answer.status().code() == absl::StatusCode::kDeadlineExceeded)) {
    return AskOwner(id);  // not resolved yet at the owner: ask again
  }
  {
    std::lock_guard lock(mu_);
    auto it = entries_.find(id);
    if (it == entries_.end()) return;
    it->second.asking_owner = false;
    it->second.lost_at.clear();
  }
  if (answer.ok()) return SetResult(id, *answer);
  proto::RemoteError error;
  error.set_code(answer.status().code() == absl::StatusCode::kNotFound
                     ? static_cast<int>(absl::StatusCode::kNotFound)
                     : static_cast<int>(absl::StatusCode::kUnavailable));
  error.set_message(absl::StrCat("the owner of object ", id, " at ", owner,
                                 " cannot answer for it: ", answer.status().message()));
  error.set_kind(proto::FAILURE_OWNER_DIED);
  SetError(id, std::move(error));
}

void ObjectTable::ThrowNotAvailable(const std::string& id, const Entry& entry,
                                    const std::chrono::milliseconds* timeout) {
  throw GetTimeoutError(
      absl::StrCat("object ", id, " is not available after ", timeout ? timeout->count() : 0, " ms",
                   entry.note.empty() ? "" : absl::StrCat(" (", entry.note, ")")));
}

ObjectTable::Bytes ObjectTable::Get(const std::string& id,
                                    const std::chrono::milliseconds* timeout) {
  return GetAll(absl::MakeConstSpan(&id, 1), timeout).front();
}

std::vector<ObjectTable::Bytes> ObjectTable::GetAll(absl::Span<const std::string> ids,
                                                    const std::chrono::milliseconds* timeout) {
  const bool may_wait = !timeout || timeout->count() > 0;
  std::vector<std::pair<std::string, Start>> starts;
  {
    std::lock_guard lock(mu_);
    for (const auto& id : ids) {
      auto it = entries_.find(id);
      if (it == entries_.end() || Done(it->second)) continue;
      starts.emplace_back(id, WantLocked(id, it->second, /*value=*/true));
    }
  }
  if (!starts.empty() && may_wait) Loop::CheckMayBlock("weft::Get");
  for (const auto& [id, start] : starts) Begin(id, start);

  std::unique_lock lock(mu_);
  // Done when every object is here, or as soon as one failed. Each wake looks at the objects
  // from the first one not here yet, and at all of them only after a failure somewhere in the
  // table: a Get of n objects costs O(n) in all, not O(n) per arrival.
  size_t next = 0;
  uint64_t failures_seen = failures_ - 1;  // scan once at the start
  auto failed_or_unknown = [&](size_t from) {
    for (size_t i = from; i < ids.size(); ++i) {
      auto it = entries_.find(ids[i]);
      if (it == entries_.end() || it->second.state == State::kFailed) return true;
    }
    return false;
  };
  auto done = [&] {
    for (; next < ids.size(); ++next) {
      auto it = entries_.find(ids[next]);
      if (it == entries_.end() || it->second.state != State::kHere) break;
    }
    if (next == ids.size()) return true;
    if (failures_seen == failures_) return false;
    failures_seen = failures_;
    return failed_or_unknown(next);
  };
  if (!timeout) {
    changed_.wait(lock, done);
  } else {
    changed_.wait_for(lock, *timeout, done);
  }
  std::vector<Bytes> values;
  values.reserve(ids.size());
  for (const auto& id : ids) {
    auto it = entries_.find(id);
    if (it == entries_.end()) throw Error(5, absl::StrCat("object ", id, " is unknown here"));
    if (it->second.state == State::kFailed) ThrowRemote(it->second.error);
  }
  for (const auto& id : ids) {
    const Entry& entry = entries_.find(id)->second;
    if (entry.state != State::kHere) ThrowNotAvailable(id, entry, timeout);
    values.push_back(entry.value);
  }
  return values;
}

bool ObjectTable::ReadyToSend(const std::string& id) {
  std::lock_guard lock(mu_);
  auto it = entries_.find(id);
  if (it == entries_.end()) return true;
  const Entry& entry = it->second;
  // Sent as a reference, the callee looks its bytes up in the object directory: one that holds
  // references, or lies in its owner's node's shared memory (a Put value: not in the
  // directory), is sent as its value, so it must be here first.
  const bool by_value =
      entry.nested || (entry.state != State::kPending && entry.state != State::kFailed &&
                       entry.location.address().empty());
  return by_value ? Done(entry) : entry.state != State::kPending;
}

bool ObjectTable::Resolved(const std::string& id, bool* failed) {
  std::lock_guard lock(mu_);
  auto it = entries_.find(id);
  if (failed) *failed = it == entries_.end() || it->second.state == State::kFailed;
  return it == entries_.end() || it->second.state != State::kPending;
}

bool ObjectTable::OwnedPending(const std::string& id) {
  std::lock_guard lock(mu_);
  auto it = entries_.find(id);
  return it != entries_.end() && it->second.state == State::kPending && it->second.owner.empty();
}

ObjectTable::Snapshot ObjectTable::Take(const std::string& id) {
  std::lock_guard lock(mu_);
  Snapshot snapshot;
  auto it = entries_.find(id);
  if (it == entries_.end()) {
    snapshot.error = std::make_unique<proto::RemoteError>();
    snapshot.error->set_code(5);
    snapshot.error->set_message(absl::StrCat("object ", id, " is unknown here"));
    return snapshot;
  }
  const Entry& entry = it->second;
  snapshot.nested = entry.nested;
  switch (entry.state) {
    case State::kHere:
      snapshot.value = entry.value;
      if (entry.value->size() > kInlineValueBytes && !entry.location.address().empty()) {
        snapshot.stored_at = std::make_unique<proto::ObjectLocation>(entry.location);
      }
      break;
    case State::kFailed:
      snapshot.error = std::make_unique<proto::RemoteError>(entry.error);
      break;
    default:
      snapshot.location = std::make_unique<proto::ObjectLocation>(entry.location);
  }
  return snapshot;
}

}  // namespace weft::internal
