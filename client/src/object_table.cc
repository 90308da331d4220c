#include "client/src/object_table.h"

#include "absl/strings/str_cat.h"
#include "client/src/loop.h"
#include "common/ids.h"
#include "weft/error.h"

namespace weft::internal {
namespace {

[[noreturn]] void ThrowRemote(const proto::RemoteError& e) {
  throw RemoteError(
      e.code(), e.type(), e.message(),
      RemoteOrigin{e.actor_id(), e.class_name(), e.method(), e.node_id(), e.worker_id(), e.pid()});
}

void RunAll(std::vector<ObjectTable::Callback>& callbacks) {
  for (auto& callback : callbacks) callback();
}

}  // namespace

std::string ObjectTable::NewId() { return RandomHex(12); }

void ObjectTable::AddPending(const std::string& id) {
  std::lock_guard lock(mu_);
  entries_.try_emplace(id);
}

std::vector<ObjectTable::Callback> ObjectTable::Finish(Entry& entry) {
  std::vector<Callback> callbacks;
  callbacks.swap(entry.on_resolved);
  for (auto& c : entry.on_ready) callbacks.push_back(std::move(c));
  entry.on_ready.clear();
  changed_.notify_all();
  return callbacks;
}

void ObjectTable::SetValue(const std::string& id, std::string bytes) {
  std::vector<Callback> callbacks;
  {
    std::lock_guard lock(mu_);
    auto it = entries_.find(id);
    if (it == entries_.end()) return;  // nobody holds a reference any more
    it->second.state = State::kHere;
    it->second.value = std::make_shared<const std::string>(std::move(bytes));
    callbacks = Finish(it->second);
  }
  RunAll(callbacks);
}

void ObjectTable::SetError(const std::string& id, proto::RemoteError error) {
  std::vector<Callback> callbacks;
  {
    std::lock_guard lock(mu_);
    auto it = entries_.find(id);
    if (it == entries_.end()) return;
    it->second.state = State::kFailed;
    it->second.error = std::move(error);
    callbacks = Finish(it->second);
  }
  RunAll(callbacks);
}

void ObjectTable::SetLocation(const std::string& id, proto::ObjectLocation location) {
  std::vector<Callback> callbacks;
  bool fetch = false;
  {
    std::lock_guard lock(mu_);
    auto it = entries_.find(id);
    if (it == entries_.end()) return;
    Entry& entry = it->second;
    entry.state = State::kLocated;
    entry.location = std::move(location);
    callbacks.swap(entry.on_resolved);
    fetch = !entry.on_ready.empty();
    changed_.notify_all();
  }
  RunAll(callbacks);
  if (fetch) MaybeFetch(id);
}

void ObjectTable::SetResult(const std::string& id, proto::CallResult& result) {
  switch (result.outcome_case()) {
    case proto::CallResult::kValue:
      return SetValue(id, std::move(*result.mutable_value()));
    case proto::CallResult::kStored:
      return SetLocation(id, std::move(*result.mutable_stored()));
    default:
      return SetError(id, std::move(*result.mutable_error()));
  }
}

void ObjectTable::SetNote(const std::string& id, std::string note) {
  std::lock_guard lock(mu_);
  if (auto it = entries_.find(id); it != entries_.end()) it->second.note = std::move(note);
}

void ObjectTable::Erase(const std::string& id) {
  std::lock_guard lock(mu_);
  entries_.erase(id);
}

bool ObjectTable::Ready(const std::string& id) {
  std::lock_guard lock(mu_);
  auto it = entries_.find(id);
  return it == entries_.end() || it->second.state == State::kHere ||
         it->second.state == State::kFailed;
}

void ObjectTable::WhenReady(const std::string& id, Callback callback) {
  bool fetch = false;
  {
    std::lock_guard lock(mu_);
    auto it = entries_.find(id);
    if (it != entries_.end() && it->second.state != State::kHere &&
        it->second.state != State::kFailed) {
      it->second.on_ready.push_back(std::move(callback));
      fetch = it->second.state == State::kLocated;
      callback = nullptr;
    }
  }
  if (callback) callback();
  if (fetch) MaybeFetch(id);
}

void ObjectTable::WhenResolved(const std::string& id, Callback callback) {
  {
    std::lock_guard lock(mu_);
    auto it = entries_.find(id);
    if (it != entries_.end() && it->second.state == State::kPending) {
      it->second.on_resolved.push_back(std::move(callback));
      return;
    }
  }
  callback();
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
  fetcher_(id, location, [this, id, location](absl::StatusOr<std::string> bytes) {
    if (bytes.ok()) {
      SetValue(id, *std::move(bytes));
      return;
    }
    proto::RemoteError error;
    error.set_code(static_cast<int>(bytes.status().code()));
    error.set_message(absl::StrCat("could not fetch object ", id, " from worker ",
                                   location.worker_id(), " at ", location.address(), ": ",
                                   bytes.status().message()));
    error.set_node_id(location.node_id());
    SetError(id, std::move(error));
  });
}

ObjectTable::Bytes ObjectTable::Get(const std::string& id,
                                    const std::chrono::milliseconds* timeout) {
  if (!Ready(id) && (!timeout || timeout->count() > 0)) Loop::CheckMayBlock("weft::Get");
  MaybeFetch(id);
  std::unique_lock lock(mu_);
  auto done = [&] {
    auto it = entries_.find(id);
    return it == entries_.end() || it->second.state == State::kHere ||
           it->second.state == State::kFailed;
  };
  if (timeout) {
    changed_.wait_for(lock, *timeout, done);
  } else {
    changed_.wait(lock, done);
  }
  auto it = entries_.find(id);
  if (it == entries_.end()) throw Error(5, absl::StrCat("object ", id, " is unknown here"));
  const Entry& entry = it->second;
  if (entry.state == State::kHere) return entry.value;
  if (entry.state == State::kFailed) ThrowRemote(entry.error);
  throw Error(
      4, absl::StrCat("object ", id, " is not available after ", timeout ? timeout->count() : 0,
                      " ms", entry.note.empty() ? "" : absl::StrCat(" (", entry.note, ")")));
}

bool ObjectTable::Resolved(const std::string& id, bool* failed) {
  std::lock_guard lock(mu_);
  auto it = entries_.find(id);
  if (failed) *failed = it == entries_.end() || it->second.state == State::kFailed;
  return it == entries_.end() || it->second.state != State::kPending;
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
  switch (entry.state) {
    case State::kHere:
      snapshot.value = entry.value;
      break;
    case State::kFailed:
      snapshot.error = std::make_unique<proto::RemoteError>(entry.error);
      break;
    default:
      snapshot.location = std::make_unique<proto::ObjectLocation>(entry.location);
  }
  return snapshot;
}

size_t ObjectTable::size() {
  std::lock_guard lock(mu_);
  return entries_.size();
}

}  // namespace weft::internal
