#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

namespace weft::internal {

// An object's bytes, immutable: a string of this process's own, or a view of memory another
// owner keeps alive (a mapping of the node's shared memory, see client/src/shared_bytes.h).
class Buffer {
 public:
  explicit Buffer(std::string bytes)
      : owned_(std::move(bytes)), data_(owned_.data()), size_(owned_.size()) {}
  Buffer(const char* data, size_t size, std::shared_ptr<const void> keeper)
      : data_(data), size_(size), keeper_(std::move(keeper)) {}
  Buffer(const Buffer&) = delete;  // data_ may point into owned_
  Buffer& operator=(const Buffer&) = delete;

  const char* data() const { return data_; }
  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  std::string_view view() const { return {data_, size_}; }
  // Mapped from memory this process shares, not a copy of its own.
  bool shared() const { return keeper_ != nullptr; }

 private:
  std::string owned_;
  const char* data_;
  size_t size_;
  std::shared_ptr<const void> keeper_;
};
using Bytes = std::shared_ptr<const Buffer>;
inline Bytes MakeBytes(std::string bytes) {
  return std::make_shared<const Buffer>(std::move(bytes));
}

}  // namespace weft::internal
