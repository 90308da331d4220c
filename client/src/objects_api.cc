// The object functions that the public templates of object_ref.h call.

#include <msgpack.hpp>

#include <algorithm>
#include <deque>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"

#include "client/src/blocking_scope.h"
#include "client/src/loop.h"
#include "client/src/runtime.h"
#include "weft/blob.h"
#include "weft/error.h"
#include "weft/object_ref.h"

namespace weft::internal {
namespace {

enum RefKind : int { kUnknown = 0, kValue = 1, kLocated = 2, kFailed = 3 };

struct EncodedRef {
  std::string id;
  int kind = kUnknown;
  std::string value;  // msgpack bytes, or the error message
  std::string address, node_id, worker_id;
  int64_t size = 0;
  int code = 0;
  std::string owner;      // where a borrower asks for a reference passed on before it resolved
  bool has_refs = false;  // located: the stored value holds references
  MSGPACK_DEFINE(id, kind, value, address, node_id, worker_id, size, code, owner, has_refs);
};

// Whether a receiver may need the object from its owner later: the reference is held for it.
bool NeedsOwner(int kind) { return kind == kUnknown || kind == kLocated; }

// The encoded references (kObjectRefExt bodies) anywhere in `object`.
void FindRefs(const msgpack::object& object, std::vector<std::string_view>* found) {
  switch (object.type) {
    case msgpack::type::ARRAY:
      for (uint32_t i = 0; i < object.via.array.size; ++i) FindRefs(object.via.array.ptr[i], found);
      break;
    case msgpack::type::MAP:
      for (uint32_t i = 0; i < object.via.map.size; ++i) {
        FindRefs(object.via.map.ptr[i].key, found);
        FindRefs(object.via.map.ptr[i].val, found);
      }
      break;
    case msgpack::type::EXT:
      if (object.via.ext.type() == kObjectRefExt) {
        found->emplace_back(object.via.ext.data(), object.via.ext.size);
      }
      break;
    default:
      break;
  }
}

ObjectTable& Objects() { return Runtime::Get().objects(); }

thread_local PackedRefs* current_packing = nullptr;
thread_local const UnpackingObject* current_unpacking = nullptr;

// A shared handle to `id` that gives back one hold of the kind `Release` counts when its last
// copy goes (if the runtime is still there). The hold itself is counted by the caller.
template <void (ObjectTable::*Release)(const std::string&)>
std::shared_ptr<const std::string> Handle(std::string id) {
  return std::shared_ptr<const std::string>(new std::string(std::move(id)),
                                            [](const std::string* held) {
                                              if (auto* runtime = Runtime::Current()) {
                                                (runtime->objects().*Release)(*held);
                                              }
                                              delete held;
                                            });
}

std::shared_ptr<const std::string> HoldInside(std::string id) {
  if (auto* runtime = Runtime::Current()) runtime->objects().HoldInside(id);
  return Handle<&ObjectTable::ReleaseInside>(std::move(id));
}

}  // namespace

PackedRefs::PackedRefs(Kind kind) : kind_(kind), outer_(current_packing) { current_packing = this; }
PackedRefs::~PackedRefs() { current_packing = outer_; }
PackedRefs* PackedRefs::Current() { return current_packing; }

UnpackingObject::UnpackingObject(const std::string& id, const Bytes* bytes)
    : id_(id), bytes_(bytes), outer_(current_unpacking) {
  current_unpacking = this;
}
UnpackingObject::~UnpackingObject() { current_unpacking = outer_; }
const std::string* UnpackingObject::Current() {
  return current_unpacking ? &current_unpacking->id_ : nullptr;
}
const Bytes* UnpackingBytes() { return current_unpacking ? current_unpacking->bytes() : nullptr; }

Bytes GetObjectBytes(const std::string& id, const std::chrono::milliseconds* timeout) {
  BlockingScope blocking(!Objects().Ready(id));  // a task's CPUs are lent out while it waits
  return Objects().Get(id, timeout);
}

std::vector<Bytes> GetObjectsBytes(const std::vector<std::string>& ids,
                                   const std::chrono::milliseconds* timeout) {
  const bool waits = std::any_of(ids.begin(), ids.end(),
                                 [](const std::string& id) { return !Objects().Ready(id); });
  BlockingScope blocking(waits);  // a task's CPUs are lent out while it waits
  return Objects().GetAll(ids, timeout);
}

bool ObjectReady(const std::string& id) { return Objects().Ready(id); }

void WhenObjectReady(const std::string& id, std::function<void()> callback) {
  Objects().WhenReady(id, std::move(callback));
}

std::string PutObjectBytes(std::string bytes,
                           std::vector<std::shared_ptr<const std::string>> inside) {
  const std::string id = ObjectTable::NewId();
  Objects().AddPending(id, /*held=*/true);
  Objects().SetInside(id, std::move(inside));
  // A large value goes to the node's shared memory, where the node's processes map it.
  Bytes shared;
  if (bytes.size() > kInlineValueBytes) shared = Runtime::Get().shared_folder().Share(id, bytes);
  Objects().SetValue(id, shared ? std::move(shared) : MakeBytes(std::move(bytes)));
  return id;
}

std::shared_ptr<const std::string> AdoptObject(std::string id) {
  return Handle<&ObjectTable::Release>(std::move(id));
}

std::shared_ptr<const std::string> HoldForCall(std::string id) {
  if (auto* runtime = Runtime::Current()) runtime->objects().HoldForCall(id);
  return Handle<&ObjectTable::ReleaseCall>(std::move(id));
}

std::shared_ptr<const std::string> HoldObject(std::string id) {
  if (auto* runtime = Runtime::Current()) runtime->objects().Hold(id);
  return AdoptObject(std::move(id));
}

std::vector<size_t> WaitObjects(const std::vector<std::string>& ids, size_t num_returns,
                                const std::chrono::milliseconds* timeout, bool fetch_local) {
  // As ray.wait: a count that cannot be met and a reference given twice are errors.
  if (num_returns == 0 || num_returns > ids.size()) {
    throw Error(3, absl::StrCat("weft::Wait: num_returns must be between 1 and the number of "
                                "references (",
                                ids.size(), "), got ", num_returns));
  }
  absl::flat_hash_set<std::string_view> seen;
  for (const auto& id : ids) {
    if (!seen.insert(id).second) {
      throw Error(3, absl::StrCat("weft::Wait: object ", id, " is given more than once"));
    }
  }
  struct State {
    std::mutex mu;
    std::condition_variable changed;
    std::vector<size_t> ready;
  };
  auto state = std::make_shared<State>();
  for (size_t i = 0; i < ids.size(); ++i) {
    auto available = [state, i] {
      std::lock_guard lock(state->mu);
      state->ready.push_back(i);
      state->changed.notify_all();
    };
    if (fetch_local) {
      Objects().WhenReady(ids[i], std::move(available));
    } else {
      Objects().WhenResolved(ids[i], std::move(available));
    }
  }
  std::unique_lock lock(state->mu);
  auto enough = [&] { return state->ready.size() >= num_returns; };
  if (!enough()) Loop::CheckMayBlock("weft::Wait");
  BlockingScope blocking(!enough());  // a task's CPUs are lent out while it waits
  if (timeout) {
    state->changed.wait_for(lock, *timeout, enough);
  } else {
    state->changed.wait(lock, enough);
  }
  // The first num_returns available, in the order of `ids` (as ray.wait keeps input order).
  std::vector<size_t> ready = state->ready;
  std::sort(ready.begin(), ready.end());
  if (ready.size() > num_returns) ready.resize(num_returns);
  return ready;
}

std::string EncodeRef(const std::string& id) {
  EncodedRef ref;
  ref.id = id;
  auto& objects = Objects();
  PackedRefs* packing = PackedRefs::Current();
  ref.owner = objects.PassOn(id, /*held=*/packing != nullptr);
  if (objects.Resolved(id)) {
    auto snapshot = objects.Take(id);
    // A large value in a node's shared memory is passed on as a reference, not copied into
    // every call: where a worker stores it, when that is on this machine and still there (the
    // receiver maps it or fetches it from there), else asking its owner (who answers a process
    // of the node with where to map it). One only in this process's own memory is copied.
    const bool large_reference =
        snapshot.value && snapshot.value->size() > kInlineValueBytes && snapshot.value->shared();
    if (large_reference && snapshot.stored_at &&
        CheckStoredCopy(Runtime::Get().config().objects_dir, id, *snapshot.stored_at) ==
            StoredCopy::kHere) {
      snapshot.location = std::move(snapshot.stored_at);
    }
    if (snapshot.value && !snapshot.location && (snapshot.nested || large_reference)) {
      // It travels as a reference (kUnknown), counted, and the receiver asks its owner for the
      // value. A copy of a value that holds references would carry them uncounted.
    } else if (snapshot.value && !snapshot.location) {
      ref.kind = kValue;
      ref.value = std::string(snapshot.value->view());
    } else if (snapshot.location) {
      ref.has_refs = snapshot.nested;
      ref.kind = kLocated;
      ref.address = snapshot.location->address();
      ref.node_id = snapshot.location->node_id();
      ref.worker_id = snapshot.location->worker_id();
      ref.size = snapshot.location->size_bytes();
    } else {
      ref.kind = kFailed;  // the whole error: type and origin travel with it
      ref.code = snapshot.error->code();
      ref.value = snapshot.error->SerializeAsString();
    }
  }
  if (packing && NeedsOwner(ref.kind)) {
    packing->Add(packing->kind() == PackedRefs::kLentToCall ? HoldForCall(id) : HoldInside(id),
                 ref.owner);
  }
  return Pack(ref);
}

std::string DecodeRef(std::string_view encoded) {
  auto ref = Unpack<EncodedRef>(encoded);
  auto& objects = Objects();
  // An object this process owns knows its state better than an old wire form.
  if (objects.AddBorrowed(ref.id, ref.owner)) return ref.id;
  if (NeedsOwner(ref.kind)) {
    // Taken out of an object's value: its owner keeps it while that object lives.
    if (const std::string* outer = UnpackingObject::Current()) objects.Register(ref.id, *outer);
  }
  switch (ref.kind) {
    case kValue:
      objects.SetValue(ref.id, std::move(ref.value));
      break;
    case kLocated: {
      proto::ObjectLocation location;
      location.set_address(ref.address);
      location.set_node_id(ref.node_id);
      location.set_worker_id(ref.worker_id);
      location.set_size_bytes(ref.size);
      proto::CallResult result;
      *result.mutable_stored() = std::move(location);
      result.set_has_refs(ref.has_refs);
      objects.SetResult(ref.id, result);
      break;
    }
    case kFailed: {
      proto::RemoteError error;
      if (!error.ParseFromString(ref.value)) error.set_message("(an error that did not decode)");
      error.set_code(ref.code);
      objects.SetError(ref.id, std::move(error));
      break;
    }
    default:
      objects.SetNote(ref.id, absl::StrCat("asking its owner at ", ref.owner, " for it"));
  }
  return ref.id;
}

std::vector<std::shared_ptr<const std::string>> LendRefsInside(const std::string& outer,
                                                               std::string_view bytes) {
  const auto parsed = UnpackBounded(bytes.data(), bytes.size());
  std::vector<std::string_view> encoded;
  FindRefs(parsed.get(), &encoded);
  std::vector<std::shared_ptr<const std::string>> held;
  for (const auto& body : encoded) {
    auto ref = Unpack<EncodedRef>(body);
    if (!NeedsOwner(ref.kind)) continue;
    if (!Objects().LendInside(ref.id, ref.owner, outer)) continue;
    held.push_back(Handle<&ObjectTable::ReleaseCall>(std::move(ref.id)));
  }
  return held;
}

struct CompletionQueue::State {
  std::mutex mu;
  std::condition_variable changed;
  std::deque<size_t> ready;
};

CompletionQueue::CompletionQueue(const std::vector<std::string>& ids)
    : state_(std::make_shared<State>()) {
  for (size_t i = 0; i < ids.size(); ++i) {
    Objects().WhenReady(ids[i], [state = state_, i] {
      std::lock_guard lock(state->mu);
      state->ready.push_back(i);
      state->changed.notify_all();
    });
  }
}

size_t CompletionQueue::Next() {
  std::unique_lock lock(state_->mu);
  if (state_->ready.empty()) Loop::CheckMayBlock("iterating weft::AsCompleted");
  BlockingScope blocking(state_->ready.empty());  // a task's CPUs are lent out while it waits
  state_->changed.wait(lock, [&] { return !state_->ready.empty(); });
  const size_t next = state_->ready.front();
  state_->ready.pop_front();
  return next;
}

}  // namespace weft::internal
