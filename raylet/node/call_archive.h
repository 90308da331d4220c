#pragma once

#include <cstddef>
#include <deque>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "log.pb.h"

namespace weft::node {

// The call logs of this node's exited workers (a worker hands over its log as it leaves,
// NodeLogs.KeepCallLog), so that `weft timeline` of a job that ended still shows what it
// ran. Bounded by a number of calls: when a new log does not fit, the oldest logs go whole.
// Thread-safe.
class CallArchive {
 public:
  static constexpr size_t kDefaultMostCalls = 100'000;

  explicit CallArchive(size_t most_calls = kDefaultMostCalls) : most_calls_(most_calls) {}

  // A log larger than the bound keeps its newest calls (the rest counted as dropped); a
  // second log of one worker replaces its first.
  void Keep(proto::WorkerInfo worker, proto::GetCallEventsReply calls);
  // Oldest first; `job_id` empty: every job's.
  std::vector<proto::WorkerCallLog> List(const std::string& job_id) const;
  size_t calls() const;

 private:
  const size_t most_calls_;
  mutable absl::Mutex mu_;
  std::deque<proto::WorkerCallLog> logs_ ABSL_GUARDED_BY(mu_);
  size_t calls_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace weft::node
