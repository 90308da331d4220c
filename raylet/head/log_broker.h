#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "log.pb.h"

namespace weft::head {

// Pub/sub of worker output, per job. Nodes publish lines; the broker numbers them per job
// (seq 1, 2, ...) and queues them for each subscriber of the job. Every queue has a bound:
// a subscriber that falls behind loses its oldest lines and is told how many; a job nobody
// subscribes to keeps only its latest lines (the backlog), which a late subscriber receives
// first. Thread-safe; no I/O.
class LogBroker {
 public:
  struct Options {
    size_t subscriber_queue = 10000;  // lines waiting for one subscriber
    size_t backlog = 1000;            // lines kept per job while it has no subscriber
    size_t max_jobs = 1024;           // beyond this, the quietest unsubscribed job is forgotten
  };

  // The lines waiting for one subscriber. Thread-safe.
  class Subscription {
   public:
    Subscription(std::string job_id, size_t capacity, std::function<void()> on_ready);

    // Removes and returns up to `max_lines` lines, stopping early past `max_bytes` of text
    // (at least one line either way), oldest first. If lines were dropped since the last
    // call, the first line returned is a synthetic stderr line saying how many.
    std::vector<proto::LogLine> Take(size_t max_lines, size_t max_bytes);

    // True once the broker has ended the subscription (CloseAll) and no line is left.
    bool Finished() const;

    // Lines dropped from this queue so far.
    uint64_t dropped() const;

    const std::string& job_id() const { return job_id_; }

   private:
    friend class LogBroker;
    void Push(const proto::LogLine& line);
    void Close();
    void Wake();    // calls on_ready, unless detached
    void Detach();  // after this returns, on_ready never runs again

    const std::string job_id_;
    const size_t capacity_;
    mutable absl::Mutex mu_;
    std::deque<proto::LogLine> queue_ ABSL_GUARDED_BY(mu_);
    uint64_t dropped_ ABSL_GUARDED_BY(mu_) = 0;  // since the last Take
    uint64_t dropped_total_ ABSL_GUARDED_BY(mu_) = 0;
    uint64_t last_dropped_seq_ ABSL_GUARDED_BY(mu_) = 0;
    bool closed_ ABSL_GUARDED_BY(mu_) = false;
    absl::Mutex wake_mu_ ABSL_ACQUIRED_BEFORE(mu_);  // held while on_ready runs
    std::function<void()> on_ready_ ABSL_GUARDED_BY(wake_mu_);
  };

  explicit LogBroker(Options options);
  LogBroker() : LogBroker(Options()) {}

  // Numbers `lines` (their seq is overwritten) and queues each for its job. Lines without a
  // job id are ignored. Calls the subscribers' on_ready after queueing, outside any lock.
  void Publish(std::vector<proto::LogLine> lines);

  // Subscribes to `job_id`, starting with its backlog. `on_ready` runs, on the publishing
  // thread and never under the broker's lock, whenever lines arrive or the subscription ends;
  // it may call Take. Call Unsubscribe when done.
  std::shared_ptr<Subscription> Subscribe(const std::string& job_id,
                                          std::function<void()> on_ready);

  // Ends `subscription`: once this returns its on_ready never runs again.
  void Unsubscribe(const std::shared_ptr<Subscription>& subscription);

  // The seq of the newest line published for `job_id`; 0 when none.
  uint64_t LastSeq(const std::string& job_id) const;

  // Ends every subscription (they finish once drained) and refuses new ones; for shutdown.
  void CloseAll();

 private:
  struct Job {
    uint64_t last_seq = 0;
    uint64_t touched = 0;  // broker-wide counter at the last publish or subscribe
    std::deque<proto::LogLine> backlog;
    uint64_t backlog_dropped = 0;
    uint64_t backlog_last_dropped_seq = 0;
    std::vector<std::shared_ptr<Subscription>> subscribers;
  };
  Job& JobLocked(const std::string& job_id) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void EvictOneLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const Options options_;
  mutable absl::Mutex mu_;
  absl::flat_hash_map<std::string, Job> jobs_ ABSL_GUARDED_BY(mu_);
  uint64_t clock_ ABSL_GUARDED_BY(mu_) = 0;
  bool closed_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace weft::head
