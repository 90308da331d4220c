#pragma once

// Values cross the wire as MessagePack (msgpack-cxx). Built-in types, std containers, tuples
// and optionals work as they are; a user struct adds MSGPACK_DEFINE(field, ...) to its body.

#include <msgpack.hpp>
#include <string>
#include <string_view>

#include "weft/error.h"

namespace weft {

template <class T>
std::string Pack(const T& value) {
  msgpack::sbuffer buffer;
  msgpack::pack(buffer, value);
  return std::string(buffer.data(), buffer.size());
}

// Decodes bytes made by Pack. Throws weft::Error (INVALID_ARGUMENT) when they do not hold a T.
template <class T>
T Unpack(std::string_view bytes) {
  try {
    msgpack::object_handle handle = msgpack::unpack(bytes.data(), bytes.size());
    return handle.get().as<T>();
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
