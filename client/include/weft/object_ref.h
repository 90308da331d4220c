#pragma once

// ObjectRef<T>: a typed handle to a value produced by a call, a task or Put. The value lives in
// the process that holds the reference (small values) or in the store of the worker that made
// it (large ones); Get brings it here.

#include <chrono>
#include <coroutine>
#include <functional>
#include <future>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "weft/async.h"
#include "weft/bytes.h"
#include "weft/serialization.h"

namespace weft {

namespace internal {
// The process's object table (client/src/object_table.cc). Every call throws weft::Error,
// and weft::RemoteError for an object that holds a remote failure.

// The object's msgpack bytes once available, waiting at most `timeout` (null: no limit).
// Throws DEADLINE_EXCEEDED on timeout, FAILED_PRECONDITION when it would block an async
// actor's event loop.
Bytes GetObjectBytes(const std::string& id, const std::chrono::milliseconds* timeout);
// Every object's bytes, in order; throws as soon as any of them holds an error.
std::vector<Bytes> GetObjectsBytes(const std::vector<std::string>& ids,
                                   const std::chrono::milliseconds* timeout);
// A shared handle to `id` that keeps the object in the table until its last copy is gone.
std::shared_ptr<const std::string> HoldObject(std::string id);
// The same for an object made with one hold already counted (a call's or Put's new result).
std::shared_ptr<const std::string> AdoptObject(std::string id);
// A hold of a call that takes (or lends) the object, counted apart from the ObjectRefs.
std::shared_ptr<const std::string> HoldForCall(std::string id);
struct Adopt {};  // tag: the ObjectRef takes over the hold its maker counted
bool ObjectReady(const std::string& id);
// Calls `callback` once the object is available or failed: at once on this thread if it
// already is, else later on an internal thread.
void WhenObjectReady(const std::string& id, std::function<void()> callback);
// Stores `bytes` as a new object owned by this process; returns its id. `inside`: holds on the
// references packed in the value, kept while the object lives.
std::string PutObjectBytes(std::string bytes,
                           std::vector<std::shared_ptr<const std::string>> inside);
// Indices of `num_returns` of `ids` that are available, in the order of `ids`, waiting at most
// `timeout` (null: no limit); fewer on timeout. Throws weft::Error INVALID_ARGUMENT for an id
// given twice or a num_returns of 0 or above ids.size().
// With `fetch_local` false an object counts once it is available anywhere, not yet here.
std::vector<size_t> WaitObjects(const std::vector<std::string>& ids, size_t num_returns,
                                const std::chrono::milliseconds* timeout, bool fetch_local);
// The wire form of a reference (id, and value or location when known), and back.
std::string EncodeRef(const std::string& id);
std::string DecodeRef(std::string_view encoded);
// Holds for a call on the references packed in `bytes`, the value of object `outer` (held
// here), whose objects the callee may need from their owners (pending or stored). Each has an
// entry here that knows its owner (and holds `outer`, see UnpackingObject); nothing else of the
// old wire form is applied.
std::vector<std::shared_ptr<const std::string>> LendRefsInside(const std::string& outer,
                                                               std::string_view bytes);

// While one lives on a thread, the references encoded there are held for what is being packed
// rather than passed on for good: those whose objects the receiver may need from their owner
// later (pending or stored). A call lends them (kLentToCall): it keeps them until its result
// says which ones the callee still holds (it is then counted as their borrower). An object
// carries them inside its value (kInsideObject: a Put value, a call's result): they are kept
// while that object lives.
class PackedRefs {
 public:
  enum Kind { kLentToCall, kInsideObject };
  explicit PackedRefs(Kind kind);
  ~PackedRefs();
  PackedRefs(const PackedRefs&) = delete;
  PackedRefs& operator=(const PackedRefs&) = delete;

  static PackedRefs* Current();
  Kind kind() const { return kind_; }
  // A hold on a reference packed here, and where its owner answers.
  void Add(std::shared_ptr<const std::string> ref, std::string owner) {
    held_.push_back(std::move(ref));
    owners_.push_back(std::move(owner));
  }
  const std::vector<std::string>& owners() const { return owners_; }
  std::vector<std::shared_ptr<const std::string>> Take() { return std::move(held_); }

 private:
  Kind kind_;
  PackedRefs* outer_;
  std::vector<std::shared_ptr<const std::string>> held_;
  std::vector<std::string> owners_;  // of each held reference
};

// While one lives on a thread, the references decoded there come out of the value of object
// `id` (held here): a borrowed one is reported to its owner (holding that object until the owner
// answers), since the object keeps what its value holds only while it lives. The Blobs decoded
// there point into `bytes`, the value's, when given (weft/blob.h).
class UnpackingObject {
 public:
  UnpackingObject(const std::string& id, const Bytes* bytes);
  ~UnpackingObject();
  UnpackingObject(const UnpackingObject&) = delete;
  UnpackingObject& operator=(const UnpackingObject&) = delete;
  static const std::string* Current();
  const Bytes* bytes() const { return bytes_; }

 private:
  const std::string& id_;
  const Bytes* bytes_;
  const UnpackingObject* outer_;
};

// The value of object `id` from its bytes.
template <class T>
T UnpackObject(const std::string& id, const Bytes& bytes) {
  UnpackingObject scope(id, &bytes);
  return Unpack<T>(bytes->view());
}

// Yields indices of `ids` in the order they become available.
class CompletionQueue {
 public:
  explicit CompletionQueue(const std::vector<std::string>& ids);
  size_t Next();  // blocks until one more is available
 private:
  struct State;
  std::shared_ptr<State> state_;
};
}  // namespace internal

template <class T>
class ObjectRef {
 public:
  using value_type = T;

  ObjectRef() = default;
  explicit ObjectRef(std::string id) : id_(internal::HoldObject(std::move(id))) {}
  ObjectRef(std::string id, internal::Adopt) : id_(internal::AdoptObject(std::move(id))) {}

  // The shared handle that keeps the object alive (internal).
  const std::shared_ptr<const std::string>& handle() const { return id_; }

  const std::string& id() const { return *id_; }
  bool valid() const { return id_ != nullptr; }

  // The value, waiting for it as long as it takes (or at most `timeout`). Throws
  // weft::RemoteError if the call behind it failed, weft::Error (DEADLINE_EXCEEDED) on
  // timeout, and weft::Error when called on an async actor's event loop: use `co_await`.
  T Get() const { return Decode(internal::GetObjectBytes(*id_, nullptr)); }
  T Get(std::chrono::milliseconds timeout) const {
    return Decode(internal::GetObjectBytes(*id_, &timeout));
  }

  bool IsReady() const { return internal::ObjectReady(*id_); }

  // A std::future that becomes ready with the value (or the remote error as its exception).
  std::future<T> Future() const {
    auto promise = std::make_shared<std::promise<T>>();
    std::future<T> future = promise->get_future();
    internal::WhenObjectReady(*id_, [promise, id = id_] {
      try {
        const std::chrono::milliseconds now{0};
        if constexpr (std::is_void_v<T>) {
          internal::GetObjectBytes(*id, &now);
          promise->set_value();
        } else {
          promise->set_value(internal::UnpackObject<T>(*id, internal::GetObjectBytes(*id, &now)));
        }
      } catch (...) {
        promise->set_exception(std::current_exception());
      }
    });
    return future;
  }

  // `co_await ref` in a weft::Async coroutine: suspends until the value is here, resumes on
  // the coroutine's loop. In a call that is cancelled meanwhile it throws
  // weft::CancelledError instead.
  struct Awaiter {
    std::shared_ptr<const std::string> id;
    bool await_ready() const { return internal::ObjectReady(*id); }
    bool await_suspend(std::coroutine_handle<> handle) const {
      auto suspension = internal::Suspend(handle);
      if (!suspension) return false;  // cancelled: await_resume throws
      internal::WhenObjectReady(*id, [suspension] { internal::Wake(suspension); });
      return true;
    }
    T await_resume() const {
      internal::DeliverCancellation();
      const std::chrono::milliseconds now{0};
      if constexpr (!std::is_void_v<T>) {
        return internal::UnpackObject<T>(*id, internal::GetObjectBytes(*id, &now));
      } else {
        internal::GetObjectBytes(*id, &now);
      }
    }
  };
  Awaiter operator co_await() const { return Awaiter{id_}; }

  friend bool operator==(const ObjectRef& a, const ObjectRef& b) { return a.id() == b.id(); }

 private:
  T Decode(const internal::Bytes& bytes) const {
    if constexpr (!std::is_void_v<T>) return internal::UnpackObject<T>(*id_, bytes);
  }
  std::shared_ptr<const std::string> id_;
};

// Stores `value` in this process's object table and returns a reference to it.
template <class T>
ObjectRef<std::decay_t<T>> Put(const T& value) {
  internal::PackedRefs inside(internal::PackedRefs::kInsideObject);
  std::string bytes = Pack(value);
  return ObjectRef<std::decay_t<T>>(internal::PutObjectBytes(std::move(bytes), inside.Take()),
                                    internal::Adopt{});
}

template <class T>
T Get(const ObjectRef<T>& ref) {
  return ref.Get();
}
template <class T>
T Get(const ObjectRef<T>& ref, std::chrono::milliseconds timeout) {
  return ref.Get(timeout);
}

// Every value, in the order of `refs`, waiting as long as it takes (or at most `timeout`).
// Throws weft::RemoteError as soon as any of them failed, without waiting for the others
// (as ray.get does), and weft::Error DEADLINE_EXCEEDED on timeout.
template <class T>
auto Get(const std::vector<ObjectRef<T>>& refs,
         std::optional<std::chrono::milliseconds> timeout = std::nullopt) {
  std::vector<std::string> ids;
  ids.reserve(refs.size());
  for (const auto& ref : refs) ids.push_back(ref.id());
  const auto bytes = internal::GetObjectsBytes(ids, timeout ? &*timeout : nullptr);
  if constexpr (!std::is_void_v<T>) {
    std::vector<T> values;
    values.reserve(refs.size());
    for (size_t i = 0; i < refs.size(); ++i) {
      values.push_back(internal::UnpackObject<T>(refs[i].id(), bytes[i]));
    }
    return values;
  }
}

template <class T>
struct WaitResult {
  std::vector<ObjectRef<T>> ready;      // in their original order
  std::vector<ObjectRef<T>> not_ready;  // in their original order
};

// Waits until `num_returns` of `refs` are available or `timeout` passes (none: no limit), like
// ray.wait. Failed calls count as available. Throws weft::Error INVALID_ARGUMENT when a
// reference appears twice or num_returns is 0 or more than refs.size(). Available means here (a
// large result is fetched from the worker that stores it), or with `fetch_local` false, stored
// anywhere in the cluster.
template <class T>
WaitResult<T> Wait(const std::vector<ObjectRef<T>>& refs, size_t num_returns = 1,
                   std::optional<std::chrono::milliseconds> timeout = std::nullopt,
                   bool fetch_local = true) {
  std::vector<std::string> ids;
  for (const auto& ref : refs) ids.push_back(ref.id());
  const auto ready =
      internal::WaitObjects(ids, num_returns, timeout ? &*timeout : nullptr, fetch_local);
  WaitResult<T> result;
  std::vector<bool> taken(refs.size());
  for (size_t i : ready) {
    result.ready.push_back(refs[i]);
    taken[i] = true;
  }
  for (size_t i = 0; i < refs.size(); ++i) {
    if (!taken[i]) result.not_ready.push_back(refs[i]);
  }
  return result;
}

// `for (auto ref : weft::AsCompleted(refs))` visits each reference once it is available, in
// the order they finish (like concurrent.futures.as_completed).
template <class T>
class AsCompleted {
 public:
  explicit AsCompleted(std::vector<ObjectRef<T>> refs) : refs_(std::move(refs)) {}

  class Iterator {
   public:
    Iterator(AsCompleted* owner, size_t seen) : owner_(owner), seen_(seen) { Load(); }
    const ObjectRef<T>& operator*() const { return owner_->refs_[current_]; }
    Iterator& operator++() {
      ++seen_;
      Load();
      return *this;
    }
    bool operator!=(const Iterator& other) const { return seen_ != other.seen_; }

   private:
    void Load() {
      if (owner_ && seen_ < owner_->refs_.size()) current_ = owner_->queue().Next();
    }
    AsCompleted* owner_;
    size_t seen_;
    size_t current_ = 0;
  };
  Iterator begin() { return Iterator(this, 0); }
  Iterator end() { return Iterator(nullptr, refs_.size()); }

 private:
  internal::CompletionQueue& queue() {
    if (!queue_) {
      std::vector<std::string> ids;
      for (const auto& ref : refs_) ids.push_back(ref.id());
      queue_.emplace(ids);
    }
    return *queue_;
  }
  std::vector<ObjectRef<T>> refs_;
  std::optional<internal::CompletionQueue> queue_;
};

// Awaits every reference (like asyncio.gather) and returns the values in order.
template <class T>
auto Gather(std::vector<ObjectRef<T>> refs)
    -> Async<std::conditional_t<std::is_void_v<T>, void, std::vector<T>>> {
  if constexpr (std::is_void_v<T>) {
    for (const auto& ref : refs) co_await ref;
  } else {
    std::vector<T> values;
    values.reserve(refs.size());
    for (const auto& ref : refs) values.push_back(co_await ref);
    co_return values;
  }
}

}  // namespace weft

namespace msgpack {
MSGPACK_API_VERSION_NAMESPACE(MSGPACK_DEFAULT_API_NS) {
  namespace adaptor {
  template <class T>
  struct pack<weft::ObjectRef<T>> {
    template <class Stream>
    packer<Stream>& operator()(packer<Stream>& out, const weft::ObjectRef<T>& ref) const {
      const std::string encoded = weft::internal::EncodeRef(ref.id());
      out.pack_ext(encoded.size(), weft::internal::kObjectRefExt);
      out.pack_ext_body(encoded.data(), encoded.size());
      return out;
    }
  };
  template <class T>
  struct convert<weft::ObjectRef<T>> {
    const msgpack::object& operator()(const msgpack::object& in, weft::ObjectRef<T>& ref) const {
      if (in.type != msgpack::type::EXT || in.via.ext.type() != weft::internal::kObjectRefExt) {
        throw msgpack::type_error();
      }
      ref = weft::ObjectRef<T>(
          weft::internal::DecodeRef(std::string_view(in.via.ext.data(), in.via.ext.size)));
      return in;
    }
  };
  }  // namespace adaptor
}
}  // namespace msgpack
