#include "worker/output_tag.h"

#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <iostream>
#include <mutex>
#include <streambuf>

#include "client/src/call_token.h"

namespace weft::worker {
namespace {

// The current thread's tag, owned by the innermost ScopedOutputTag; null: no prefix. A plain
// pointer, so it stays readable while the thread's other thread_locals are destroyed.
thread_local const std::string* current_tag = nullptr;

// Writes all of `data` to `fd`, retrying short writes and EINTR.
void WriteAll(int fd, const char* data, size_t size) {
  while (size > 0) {
    const ssize_t n = ::write(fd, data, size);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;  // the reader is gone: the line is lost, as with plain stdout
    data += n;
    size -= static_cast<size_t>(n);
  }
}

// One per thread and stream: the bytes of the line being written.
struct PendingLine {
  int fd = -1;
  std::string text;

  void Emit() {
    if (text.empty()) return;
    // A named call's lines carry its name (CallOptions::name) rather than its class's.
    const std::string* tag = internal::CallToken::CurrentName();
    if (!tag) tag = current_tag;
    if (tag) {
      // "(tag pid=N) " before the line, in the same write so that lines never interleave.
      std::string line;
      line.reserve(tag->size() + text.size() + 24);
      line.append("(").append(*tag).append(" pid=");
      line.append(std::to_string(::getpid())).append(") ").append(text);
      WriteAll(fd, line.data(), line.size());
    } else {
      WriteAll(fd, text.data(), text.size());
    }
    text.clear();
  }
  ~PendingLine() { Emit(); }  // a thread that ends mid-line still gets its words out
};

// The calling thread's line being written to fd 1 or 2.
PendingLine& Pending(int fd) {
  thread_local PendingLine out{1, {}}, err{2, {}};
  return fd == 1 ? out : err;
}

// A streambuf with no buffer of its own: every character lands in the calling thread's
// PendingLine, so threads never share state and need no lock.
class TaggedLineBuf final : public std::streambuf {
 public:
  explicit TaggedLineBuf(int fd) : fd_(fd) {}

 protected:
  int_type overflow(int_type ch) override {
    if (traits_type::eq_int_type(ch, traits_type::eof())) return traits_type::not_eof(ch);
    PendingLine& line = Line();
    line.text.push_back(traits_type::to_char_type(ch));
    if (ch == '\n') line.Emit();
    return ch;
  }

  std::streamsize xsputn(const char* s, std::streamsize n) override {
    PendingLine& line = Line();
    const char* end = s + n;
    while (s < end) {
      const char* newline = static_cast<const char*>(memchr(s, '\n', end - s));
      const char* stop = newline ? newline + 1 : end;
      line.text.append(s, stop);
      if (newline) line.Emit();
      s = stop;
    }
    return n;
  }

  int sync() override {
    Line().Emit();
    return 0;
  }

 private:
  PendingLine& Line() { return Pending(fd_); }

  const int fd_;
};

}  // namespace

void InstallOutputTags() {
  static std::once_flag once;
  std::call_once(once, [] {
    // Never destroyed: threads may print while static destructors run.
    static auto* out = new TaggedLineBuf(1);
    static auto* err = new TaggedLineBuf(2);
    std::cout.flush();
    std::cerr.flush();
    std::cout.rdbuf(out);
    std::cerr.rdbuf(err);
  });
}

ScopedOutputTag::ScopedOutputTag(std::string tag) : owned_(std::move(tag)), previous_(current_tag) {
  current_tag = &owned_;
}

ScopedOutputTag::ScopedOutputTag(const std::string* tag) : previous_(current_tag) {
  current_tag = tag;
}

ScopedOutputTag::~ScopedOutputTag() {
  // What the tag's holder left unfinished goes out under its tag: the thread may run another
  // actor's work next.
  Pending(1).Emit();
  Pending(2).Emit();
  current_tag = previous_;
}

}  // namespace weft::worker
