#pragma once

// The head weft-head-scale measures: a process of its own, started with the `weft` CLI (or one
// already running), and what /proc says about it.

#include <cstdint>
#include <string>

namespace weft::bench {

// A head in a session under `root`, started with `weft start --head --num-cpus 0` (no node of
// its own) and stopped when this goes; or, with `session`, the head already running there
// (started by hand, e.g. under a profiler), left running.
class HeadProcess {
 public:
  HeadProcess(const std::string& root, const std::string& storage, const std::string& session);
  ~HeadProcess();
  HeadProcess(const HeadProcess&) = delete;
  HeadProcess& operator=(const HeadProcess&) = delete;

  bool ok() const { return !address_.empty() && !token_.empty() && pid_ > 0; }
  const std::string& address() const { return address_; }
  const std::string& token() const { return token_; }
  int pid() const { return pid_; }

  // Its resident bytes; -1 when it is gone.
  int64_t ResidentBytes() const;
  // Its share of one core over the next `seconds` (a window of measurement, not a wait for
  // anything).
  double CpuShare(double seconds) const;
  // How many actors `weft list actors --format json` prints for it, as a user lists them; -1
  // when the command fails.
  int64_t ListedByCli() const;

 private:
  std::string weft_;  // the CLI, when this started the head
  std::string session_;
  std::string address_;
  std::string token_;
  int pid_ = 0;
};

}  // namespace weft::bench
