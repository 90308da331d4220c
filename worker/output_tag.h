#pragma once

// Worker output that names its actor: once InstallOutputTags() has run, every line written
// to std::cout or std::cerr leaves the process as one write(2) of the whole line, prefixed
// with the calling thread's tag: "(Counter pid=4121) added 3". The node tails these lines
// and the driver prints them as they are.

#include <string>

namespace weft::worker {

// Replaces the stream buffers of std::cout and std::cerr with line buffers that write to
// fds 1 and 2. Each thread collects its own partial line; a line is written when it ends
// ('\n') or when the thread flushes the stream (std::flush, std::endl, std::unitbuf). Call
// once, early in main, before other threads print; later calls do nothing. Lines a thread
// leaves unfinished when it exits are written then.
void InstallOutputTags();

// Tags the lines the current thread writes while it lives, e.g. with the actor's class name
// around each call: `ScopedOutputTag tag(class_name);`. On destruction, writes what the thread
// left unfinished of a line (under this tag: the thread may run another actor's call next),
// then restores the previous tag (none by default: lines go out unprefixed), so tags nest.
// Destroy on the thread that made it, in reverse order (as a local variable does). Cheap: no
// lock, and no allocation beyond the string.
class ScopedOutputTag {
 public:
  explicit ScopedOutputTag(std::string tag);
  // Without a copy: `*tag` must outlive this.
  explicit ScopedOutputTag(const std::string* tag);
  ~ScopedOutputTag();
  ScopedOutputTag(const ScopedOutputTag&) = delete;
  ScopedOutputTag& operator=(const ScopedOutputTag&) = delete;

 private:
  const std::string owned_;
  const std::string* const previous_;
};

}  // namespace weft::worker
