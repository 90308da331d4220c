#include "raylet/node/line_splitter.h"

#include <algorithm>
#include <utility>

namespace weft::node {

void LineSplitter::Feed(std::string_view bytes, const Emit& emit) {
  while (!bytes.empty()) {
    // A full line is cut only when more of it follows, so an exact fit ends cleanly.
    if (partial_.size() >= max_line_ && bytes.front() != '\n') emit(std::exchange(partial_, {}));
    const size_t newline = bytes.find('\n');
    const size_t take = std::min(newline == std::string_view::npos ? bytes.size() : newline,
                                 max_line_ - partial_.size());
    partial_.append(bytes.substr(0, take));
    bytes.remove_prefix(take);
    if (!bytes.empty() && bytes.front() == '\n') {
      bytes.remove_prefix(1);
      emit(std::exchange(partial_, {}));
    }
  }
}

void LineSplitter::Finish(const Emit& emit) {
  if (!partial_.empty()) emit(std::exchange(partial_, {}));
}

}  // namespace weft::node
