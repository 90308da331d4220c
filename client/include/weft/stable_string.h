#pragma once

#include <memory>
#include <string>
#include <utility>

namespace weft {

// A string of call options (CallOptions, TaskOptions) kept on the heap, so that it stays valid
// when the options holding it are copied bit for bit: GCC 12 does that to the temporaries of a
// co_await expression (`co_await weft::Task(&F, {.name = "x"}).Remote()`,
// `co_await actor.Options({.concurrency_group = "io"}).Call(...)`), and a std::string's inline
// buffer does not survive it. Converts from strings.
class StableString {
 public:
  StableString() = default;
  StableString(const char* name) : StableString(std::string(name)) {}
  StableString(std::string name) {
    if (!name.empty()) name_ = std::make_shared<const std::string>(std::move(name));
  }

  bool empty() const { return !name_; }
  const std::string& str() const {
    static const std::string kNone;
    return name_ ? *name_ : kNone;
  }

 private:
  std::shared_ptr<const std::string> name_;
};

}  // namespace weft
