#include "raylet/head/log_broker.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"

namespace weft::head {
namespace {

proto::LogLine DroppedNotice(const std::string& job_id, uint64_t count, uint64_t seq) {
  proto::LogLine line;
  line.set_job_id(job_id);
  line.set_stream(proto::LOG_STDERR);
  line.set_seq(seq);
  line.set_text(absl::StrCat("(weft) ", count, count == 1 ? " line" : " lines",
                             " of worker output dropped: the driver did not keep up"));
  return line;
}

}  // namespace

LogBroker::Subscription::Subscription(std::string job_id, size_t capacity,
                                      std::function<void()> on_ready)
    : job_id_(std::move(job_id)),
      capacity_(std::max<size_t>(capacity, 1)),
      on_ready_(std::move(on_ready)) {}

void LogBroker::Subscription::Push(const proto::LogLine& line) {
  absl::MutexLock lock(&mu_);
  if (queue_.size() >= capacity_) {
    last_dropped_seq_ = queue_.front().seq();
    queue_.pop_front();
    ++dropped_;
    ++dropped_total_;
  }
  queue_.push_back(line);
}

std::vector<proto::LogLine> LogBroker::Subscription::Take(size_t max_lines, size_t max_bytes) {
  absl::MutexLock lock(&mu_);
  std::vector<proto::LogLine> out;
  if (dropped_ > 0) {
    out.push_back(DroppedNotice(job_id_, dropped_, last_dropped_seq_));
    dropped_ = 0;
  }
  size_t bytes = 0;
  while (!queue_.empty() && out.size() < max_lines && (out.empty() || bytes < max_bytes)) {
    bytes += queue_.front().text().size();
    out.push_back(std::move(queue_.front()));
    queue_.pop_front();
  }
  return out;
}

bool LogBroker::Subscription::Finished() const {
  absl::MutexLock lock(&mu_);
  return closed_ && queue_.empty() && dropped_ == 0;
}

uint64_t LogBroker::Subscription::dropped() const {
  absl::MutexLock lock(&mu_);
  return dropped_total_;
}

void LogBroker::Subscription::Close() {
  absl::MutexLock lock(&mu_);
  closed_ = true;
}

void LogBroker::Subscription::Wake() {
  absl::MutexLock lock(&wake_mu_);
  if (on_ready_) on_ready_();
}

void LogBroker::Subscription::Detach() {
  absl::MutexLock lock(&wake_mu_);
  on_ready_ = nullptr;
}

LogBroker::LogBroker(Options options) : options_(options) {}

void LogBroker::Publish(std::vector<proto::LogLine> lines) {
  std::vector<std::shared_ptr<Subscription>> to_wake;
  {
    absl::MutexLock lock(&mu_);
    for (auto& line : lines) {
      if (line.job_id().empty()) continue;
      Job& job = JobLocked(line.job_id());
      line.set_seq(++job.last_seq);
      if (job.subscribers.empty()) {
        if (job.backlog.size() >= options_.backlog) {
          job.backlog_last_dropped_seq = job.backlog.front().seq();
          job.backlog.pop_front();
          ++job.backlog_dropped;
        }
        job.backlog.push_back(std::move(line));
        continue;
      }
      for (const auto& subscriber : job.subscribers) {
        subscriber->Push(line);
        if (std::find(to_wake.begin(), to_wake.end(), subscriber) == to_wake.end()) {
          to_wake.push_back(subscriber);
        }
      }
    }
  }
  for (const auto& subscriber : to_wake) subscriber->Wake();
}

std::shared_ptr<LogBroker::Subscription> LogBroker::Subscribe(const std::string& job_id,
                                                              std::function<void()> on_ready) {
  auto subscription =
      std::make_shared<Subscription>(job_id, options_.subscriber_queue, std::move(on_ready));
  absl::MutexLock lock(&mu_);
  if (closed_) {
    subscription->Close();
    return subscription;
  }
  Job& job = JobLocked(job_id);
  {
    absl::MutexLock queue_lock(&subscription->mu_);
    subscription->dropped_ = job.backlog_dropped;
    subscription->dropped_total_ = job.backlog_dropped;
    subscription->last_dropped_seq_ = job.backlog_last_dropped_seq;
    subscription->queue_ = std::exchange(job.backlog, {});
    job.backlog_dropped = 0;
  }
  job.subscribers.push_back(subscription);
  return subscription;
}

void LogBroker::Unsubscribe(const std::shared_ptr<Subscription>& subscription) {
  subscription->Detach();
  absl::MutexLock lock(&mu_);
  auto it = jobs_.find(subscription->job_id());
  if (it == jobs_.end()) return;
  auto& subscribers = it->second.subscribers;
  subscribers.erase(std::remove(subscribers.begin(), subscribers.end(), subscription),
                    subscribers.end());
}

uint64_t LogBroker::LastSeq(const std::string& job_id) const {
  absl::MutexLock lock(&mu_);
  auto it = jobs_.find(job_id);
  return it == jobs_.end() ? 0 : it->second.last_seq;
}

void LogBroker::CloseAll() {
  std::vector<std::shared_ptr<Subscription>> to_wake;
  {
    absl::MutexLock lock(&mu_);
    closed_ = true;
    for (auto& [id, job] : jobs_) {
      for (const auto& subscriber : job.subscribers) {
        subscriber->Close();
        to_wake.push_back(subscriber);
      }
    }
  }
  for (const auto& subscriber : to_wake) subscriber->Wake();
}

LogBroker::Job& LogBroker::JobLocked(const std::string& job_id) {
  auto it = jobs_.find(job_id);
  if (it == jobs_.end()) {
    if (jobs_.size() >= options_.max_jobs) EvictOneLocked();
    it = jobs_.try_emplace(job_id).first;
  }
  it->second.touched = ++clock_;
  return it->second;
}

void LogBroker::EvictOneLocked() {
  auto victim = jobs_.end();
  for (auto it = jobs_.begin(); it != jobs_.end(); ++it) {
    if (!it->second.subscribers.empty()) continue;
    if (victim == jobs_.end() || it->second.touched < victim->second.touched) victim = it;
  }
  if (victim != jobs_.end()) jobs_.erase(victim);
}

}  // namespace weft::head
