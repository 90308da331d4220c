#pragma once

// Values cross the wire as MessagePack (msgpack-cxx). Built-in types, std containers, tuples
// and optionals work as they are; a user struct adds MSGPACK_DEFINE(field, ...) to its body.

#include <msgpack.hpp>

#include <algorithm>
#include <string>
#include <string_view>
#include <type_traits>

#include "weft/error.h"

namespace weft {

namespace internal {
// A msgpack output buffer that writes straight into a std::string.
struct StringBuffer {
  std::string& out;
  void write(const char* data, size_t size) { out.append(data, size); }
};
// Strings, binaries and extensions of an unpacked object point into the input instead of
// being copied into the object's zone: the input outlives the object in Unpack.
inline bool ReferenceInput(msgpack::type::object_type, std::size_t, void*) { return true; }
// Makes room for `size` more bytes in `out`; a large buffer is placed in huge pages where the
// kernel allows, so that filling it faults 2 MiB at a time (client/src/large_buffer.cc).
void ReserveLarge(std::string& out, size_t size);
inline constexpr size_t kLargeValueBytes = 4 << 20;

// Unpacks bytes from elsewhere within limits: no array, map, string, binary or extension may
// claim more elements than the input has bytes, nor nest deeper than kMaxDepth. Without them,
// a map header claiming 2^32 entries (5 bytes) makes msgpack allocate 128 GiB up front.
// Over a limit: an exception derived from std::runtime_error, as for any malformed input.
inline constexpr size_t kMaxDepth = 256;
inline msgpack::object_handle UnpackBounded(const char* data, size_t size,
                                            msgpack::unpack_reference_func reference = nullptr) {
  const size_t most = std::min<size_t>(size, 0xffffffffu);
  return msgpack::unpack(data, size, reference, nullptr,
                         msgpack::unpack_limit(most, most, most, most, most, kMaxDepth));
}
}  // namespace internal

template <class T>
std::string Pack(const T& value) {
  std::string bytes;
  internal::StringBuffer buffer{bytes};
  msgpack::pack(buffer, value);
  return bytes;
}

// Decodes bytes made by Pack. Throws weft::Error (INVALID_ARGUMENT) when they do not hold a T.
template <class T>
T Unpack(std::string_view bytes) {
  try {
    msgpack::object_handle handle =
        internal::UnpackBounded(bytes.data(), bytes.size(), &internal::ReferenceInput);
    const msgpack::object& object = handle.get();
    if constexpr (std::is_same_v<T, std::string>) {
      if (object.type == msgpack::type::STR && object.via.str.size >= internal::kLargeValueBytes) {
        std::string value;
        internal::ReserveLarge(value, object.via.str.size);
        value.append(object.via.str.ptr, object.via.str.size);
        return value;
      }
    }
    return object.as<T>();
  } catch (const msgpack::type_error&) {
    throw Error(3, "value does not have the expected type");
  } catch (const msgpack::unpack_error& e) {
    throw Error(3, std::string("value is not valid msgpack: ") + e.what());
  }
}

namespace internal {
// Extension type codes of the values Weft itself puts in msgpack.
inline constexpr int8_t kRefArgExt = 1;     // call argument: resolve to the value before the call
inline constexpr int8_t kObjectRefExt = 2;  // an ObjectRef<T> value
}  // namespace internal

}  // namespace weft
