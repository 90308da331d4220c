#pragma once

// weft::Blob: immutable bytes that a reader gets without a copy. Ray hands a numpy array out
// of its object store as a read-only view of the store's memory; a Blob is that for C++. A
// Get, co_await or Future of an object whose value is (or holds) a Blob points into the
// object's bytes instead of copying them: a large object's are mapped from its node's shared
// memory, so a 100 MiB result costs the reader no copy and no memory of its own. Copies of a
// Blob share its bytes, which stay valid while any copy lives, even after every ObjectRef to
// the object is gone; so does the whole object's memory (a Blob of 8 KiB inside a 100 MiB
// value keeps the 100 MiB): copy out what you keep of a large value. Blobs under 4 KiB, and
// Blobs a method takes as arguments (the call's bytes go with the call), are copies.
//
// On the wire a Blob is a msgpack string, the same as a std::string.

#include <msgpack.hpp>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <utility>

#include "weft/bytes.h"

namespace weft {

namespace internal {
// The bytes of the object being unpacked on this thread (by Get, Future or co_await), if any:
// a Blob unpacked from inside them shares them (client/src/objects_api.cc).
const Bytes* UnpackingBytes();
}  // namespace internal

class Blob {
 public:
  Blob() = default;
  // Takes the bytes of `bytes` (no copy).
  explicit Blob(std::string bytes) {
    if (bytes.empty()) return;
    auto owned = std::make_shared<const std::string>(std::move(bytes));
    data_ = owned->data();
    size_ = owned->size();
    keeper_ = std::move(owned);
  }
  explicit Blob(std::string_view bytes) : Blob(std::string(bytes)) {}
  explicit Blob(const char* text) : Blob(std::string(text)) {}
  // `size` bytes at `data`, valid while `keeper` lives.
  Blob(const char* data, size_t size, std::shared_ptr<const void> keeper)
      : data_(data), size_(size), keeper_(std::move(keeper)) {}
  Blob(const Blob&) = default;
  Blob& operator=(const Blob&) = default;
  // A Blob moved from is empty: it never points at bytes it no longer keeps.
  Blob(Blob&& other) noexcept
      : data_(std::exchange(other.data_, "")),
        size_(std::exchange(other.size_, 0)),
        keeper_(std::move(other.keeper_)) {}
  Blob& operator=(Blob&& other) noexcept {
    data_ = std::exchange(other.data_, "");
    size_ = std::exchange(other.size_, 0);
    keeper_ = std::move(other.keeper_);
    return *this;
  }

  const char* data() const { return data_; }
  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  const char* begin() const { return data_; }
  const char* end() const { return data_ + size_; }
  char operator[](size_t i) const { return data_[i]; }
  std::string_view view() const { return {data_, size_}; }
  operator std::string_view() const { return view(); }
  std::string str() const { return std::string(view()); }  // a copy

  friend bool operator==(const Blob& a, const Blob& b) { return a.view() == b.view(); }

 private:
  const char* data_ = "";
  size_t size_ = 0;
  std::shared_ptr<const void> keeper_;
};

}  // namespace weft

namespace weft::internal {
// Blobs smaller than this are copied out of an object's bytes rather than keeping them all.
inline constexpr size_t kBlobViewBytes = 4096;
}  // namespace weft::internal

namespace msgpack {
MSGPACK_API_VERSION_NAMESPACE(MSGPACK_DEFAULT_API_NS) {
  namespace adaptor {

  template <>
  struct pack<weft::Blob> {
    template <class Stream>
    packer<Stream>& operator()(packer<Stream>& out, const weft::Blob& blob) const {
      const uint32_t size = checked_get_container_size(blob.size());
      out.pack_str(size);
      out.pack_str_body(blob.data(), size);
      return out;
    }
  };

  template <>
  struct object_with_zone<weft::Blob> {
    void operator()(msgpack::object::with_zone& object, const weft::Blob& blob) const {
      const uint32_t size = checked_get_container_size(blob.size());
      char* copy = static_cast<char*>(object.zone.allocate_align(size, MSGPACK_ZONE_ALIGNOF(char)));
      std::memcpy(copy, blob.data(), size);
      object.type = msgpack::type::STR;
      object.via.str.ptr = copy;
      object.via.str.size = size;
    }
  };

  // From a string or a binary: pointing into the object's bytes when they are being unpacked
  // (and so kept) and the Blob is not small, a copy otherwise.
  template <>
  struct convert<weft::Blob> {
    const msgpack::object& operator()(const msgpack::object& object, weft::Blob& blob) const {
      const char* data;
      size_t size;
      if (object.type == msgpack::type::STR) {
        data = object.via.str.ptr;
        size = object.via.str.size;
      } else if (object.type == msgpack::type::BIN) {
        data = object.via.bin.ptr;
        size = object.via.bin.size;
      } else {
        throw msgpack::type_error();
      }
      if (size == 0) {
        blob = weft::Blob();
        return object;
      }
      const weft::internal::Bytes* source = weft::internal::UnpackingBytes();
      const auto at = reinterpret_cast<uintptr_t>(data);
      if (size >= weft::internal::kBlobViewBytes && source && *source &&
          at >= reinterpret_cast<uintptr_t>((*source)->data()) &&
          at + size <= reinterpret_cast<uintptr_t>((*source)->data()) + (*source)->size()) {
        blob = weft::Blob(data, size, *source);
      } else {
        blob = weft::Blob(std::string_view(data, size));
      }
      return object;
    }
  };

  }  // namespace adaptor
}  // MSGPACK_API_VERSION_NAMESPACE(MSGPACK_DEFAULT_API_NS)
}  // namespace msgpack
