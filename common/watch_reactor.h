#pragma once

#include <grpcpp/grpcpp.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "common/auth.h"
#include "common/rpc.h"
#include "common/status.h"

namespace weft {

// Watches one stream may hold open at once: more are answered RESOURCE_EXHAUSTED. A process
// holds one per actor it calls, per object it waits for from that owner, or per reference it
// lent that borrower (a million references lent to one process; about 100 MiB held here).
inline constexpr size_t kMaxOpenWatches = 1000000;
// Bytes of answers one stream queues behind its write in flight before it stops reading new
// watches (as a worker's Calls stream does with results, see CallReactor): a caller that reads
// no answers makes the server hold about this, not every answer of its watches.
inline constexpr size_t kQueuedAnswerBudget = 16 << 20;

// The streams of watches one service serves, to end them all at once: a server that stops
// would otherwise wait for them until its deadline (their callers watching again on them).
class WatchStreamsServed {
 public:
  // Ends every stream served, now and from now on, UNAVAILABLE with `why`; their open watches
  // are taken out (answers already queued are written first).
  void CloseAll(const std::string& why) {
    std::lock_guard lock(mu_);
    closed_ = true;
    why_ = why;
    for (auto& [reactor, close] : open_) close(why);
  }

 private:
  template <class Batch, class Answers>
  friend class WatchReactor;
  using Close = std::function<void(const std::string&)>;

  // False (and the reason in `why`) once closed.
  bool Add(const void* reactor, Close close, std::string* why) {
    std::lock_guard lock(mu_);
    if (closed_) {
      *why = why_;
      return false;
    }
    open_.emplace(reactor, std::move(close));
    return true;
  }
  void Remove(const void* reactor) {
    std::lock_guard lock(mu_);  // waits for a CloseAll under way
    open_.erase(reactor);
  }

  std::mutex mu_;
  bool closed_ = false;
  std::string why_;
  absl::flat_hash_map<const void*, Close> open_;
};

// The server's end of a stream of watches (WatchActors, WatchObjects, WatchReleases): many long
// polls on one stream, each what one unary call would be, answered in any order and matched by
// the id its caller gave it (see ActorWatch in head.proto). One stream per caller and peer
// where a unary call each would make the number of open streams on a connection grow with the
// actors, objects or references a process follows, and a cap on streams (ConfigureServer)
// a cap on those.
//
// `start` begins a watch: it answers through its Respond (exactly once, on any thread, maybe
// before it returns), and returns what takes the watch out unanswered (or nothing, when there
// is nothing to take out) for when its caller cancels it or goes away. An answer after that is
// dropped.
//
// `Batch` is a message of `repeated Watch watches`, each {watch_id, wait, cancel}; `Answers`
// of `repeated Answer answers`, each {watch_id, code, message, reply}.
template <class Batch, class Answers>
class WatchReactor final : public grpc::ServerBidiReactor<Batch, Answers> {
 public:
  using Watch = std::decay_t<decltype(std::declval<const Batch&>().watches(0))>;
  using Answer = std::decay_t<decltype(std::declval<const Answers&>().answers(0))>;
  using Request = std::decay_t<decltype(std::declval<const Watch&>().wait())>;
  using Reply = std::decay_t<decltype(std::declval<const Answer&>().reply())>;
  using Respond = std::function<void(const absl::Status&, Reply)>;
  using Withdraw = std::function<void()>;
  using Start = std::function<Withdraw(const Request&, Respond)>;

  // The stream's reactor, or one that refuses it when the call lacks the cluster token; one of
  // `served` (which can end it), if given.
  static grpc::ServerBidiReactor<Batch, Answers>* Serve(const TokenAuth& auth,
                                                        grpc::CallbackServerContext* context,
                                                        Start start,
                                                        WatchStreamsServed* served = nullptr) {
    if (!auth.Allows(*context)) {
      return new Refused(grpc::Status(grpc::StatusCode::UNAUTHENTICATED, "bad cluster token"));
    }
    return new WatchReactor(std::move(start), served);
  }

  explicit WatchReactor(Start start, WatchStreamsServed* served = nullptr,
                        size_t max_open = kMaxOpenWatches,
                        size_t queued_budget = kQueuedAnswerBudget)
      : start_(std::move(start)),
        served_(served),
        max_open_(max_open),
        queued_budget_(queued_budget),
        shared_(std::make_shared<Shared>()) {
    shared_->reactor = this;
    reading_ = true;
    this->StartRead(&incoming_);
    // After the read: CloseAll may end the stream as soon as it is known (it holds the
    // registry's lock and takes shared_->mu, so this cannot hold shared_->mu here).
    std::string why;
    if (served_ && !served_->Add(
                       this, [this](const std::string& reason) { Close(reason); }, &why)) {
      served_ = nullptr;
      Close(why);  // closed already: refused
    }
  }

  void OnReadDone(bool ok) override {
    if (!ok) {
      std::lock_guard lock(shared_->mu);
      reading_ = false;
      reads_done_ = true;
      MaybeFinishLocked();
      return;
    }
    std::vector<Withdraw> withdraws;  // run outside the lock
    for (auto& watch : *incoming_.mutable_watches()) {
      const uint64_t id = watch.watch_id();
      {
        std::lock_guard lock(shared_->mu);
        if (cancelled_) break;  // the caller is gone: the rest of the batch is not started
        auto it = open_.find(id);
        if (watch.cancel()) {
          if (it != open_.end()) {
            withdraws.push_back(std::move(it->second));
            open_.erase(it);
          }
          continue;
        }
        if (it != open_.end()) {
          QueueLocked(id,
                      absl::InvalidArgumentError(
                          absl::StrCat("watch ", id, " is open already on this stream")),
                      Reply());
          continue;
        }
        if (open_.size() >= max_open_) {
          QueueLocked(id,
                      absl::ResourceExhaustedError(
                          absl::StrCat("more than ", max_open_, " watches open on one stream")),
                      Reply());
          continue;
        }
        open_.emplace(id, Withdraw());
      }
      Withdraw withdraw =
          start_(watch.wait(), [shared = shared_, id](const absl::Status& status, Reply reply) {
            std::lock_guard lock(shared->mu);
            if (shared->reactor) shared->reactor->AnsweredLocked(id, status, std::move(reply));
          });
      std::lock_guard lock(shared_->mu);
      auto it = open_.find(id);
      if (cancelled_) {
        // OnCancel took the watch out while it started (its placeholder, without this): taken
        // out here (a handler's withdraw does nothing once the watch is answered).
        if (it != open_.end()) open_.erase(it);
        withdraws.push_back(std::move(withdraw));
        continue;
      }
      if (it == open_.end()) continue;  // answered already
      it->second = std::move(withdraw);
    }
    incoming_.Clear();
    for (auto& withdraw : withdraws) {
      if (withdraw) withdraw();
    }
    std::lock_guard lock(shared_->mu);
    reading_ = false;
    if (cancelled_ || finished_) return MaybeFinishLocked();
    // The caller reads its answers slower than its watches make them, or not at all: its
    // further watches wait at the caller (HTTP/2 flow control) until the write is done.
    if (queued_bytes_ > queued_budget_) {
      reads_paused_ = true;
      return;
    }
    reading_ = true;
    this->StartRead(&incoming_);
  }

  void OnWriteDone(bool ok) override {
    std::lock_guard lock(shared_->mu);
    writing_ = false;
    if (!ok) {  // the caller is gone; answers still arriving are dropped
      if (!finished_) {
        finished_ = true;
        this->Finish(grpc::Status::CANCELLED);
      }
      return;
    }
    if (finished_) return;
    if (queued_.answers_size() > 0) return WriteLocked();
    if (!closed_why_.empty()) return FinishClosedLocked();
    if (reads_paused_ && queued_bytes_ <= queued_budget_ && !cancelled_) {
      reads_paused_ = false;
      reading_ = true;
      this->StartRead(&incoming_);
    }
    MaybeFinishLocked();
  }

  // The caller is gone, or cancelled the stream: its watches are taken out.
  void OnCancel() override {
    std::vector<Withdraw> withdraws;
    {
      std::lock_guard lock(shared_->mu);
      cancelled_ = true;
      for (auto& [id, withdraw] : open_) withdraws.push_back(std::move(withdraw));
      open_.clear();
      // Nothing in flight would finish the stream (reads paused, nothing to write).
      if (!reading_ && !writing_ && !finished_) {
        finished_ = true;
        this->Finish(grpc::Status::CANCELLED);
      }
    }
    for (auto& withdraw : withdraws) {
      if (withdraw) withdraw();
    }
  }

  void OnDone() override {
    if (served_) served_->Remove(this);  // before taking shared_->mu: CloseAll holds its lock
    std::vector<Withdraw> withdraws;     // should the stream end without a cancel
    {
      std::lock_guard lock(shared_->mu);
      shared_->reactor = nullptr;
      for (auto& [id, withdraw] : open_) withdraws.push_back(std::move(withdraw));
      open_.clear();
    }
    for (auto& withdraw : withdraws) {
      if (withdraw) withdraw();
    }
    delete this;
  }

 private:
  struct Shared {
    std::mutex mu;
    WatchReactor* reactor;  // null once the stream is done
  };

  class Refused final : public grpc::ServerBidiReactor<Batch, Answers> {
   public:
    explicit Refused(const grpc::Status& status) { this->Finish(status); }
    void OnDone() override { delete this; }
  };

  // WatchStreamsServed::CloseAll: open watches are taken out, and the stream ends UNAVAILABLE
  // once the answers queued are written.
  void Close(const std::string& why) {
    std::vector<Withdraw> withdraws;
    {
      std::lock_guard lock(shared_->mu);
      if (finished_) return;
      closed_why_ = why.empty() ? "closed" : why;
      cancelled_ = true;  // watches still arriving are not started
      for (auto& [id, withdraw] : open_) withdraws.push_back(std::move(withdraw));
      open_.clear();
      if (!writing_) FinishClosedLocked();
    }
    for (auto& withdraw : withdraws) {
      if (withdraw) withdraw();
    }
  }

  void FinishClosedLocked() {
    finished_ = true;
    this->Finish(grpc::Status(grpc::StatusCode::UNAVAILABLE, closed_why_));
  }

  void AnsweredLocked(uint64_t id, const absl::Status& status, Reply reply) {
    auto it = open_.find(id);
    if (it == open_.end()) return;  // taken out by its caller
    open_.erase(it);
    QueueLocked(id, status, std::move(reply));
  }

  void QueueLocked(uint64_t id, const absl::Status& status, Reply reply) {
    Answer answer;
    answer.set_watch_id(id);
    answer.set_code(static_cast<int>(status.code()));
    answer.set_message(std::string(status.message()));
    if (status.ok()) *answer.mutable_reply() = std::move(reply);
    size_t bytes = answer.ByteSizeLong();
    // Sent, an answer over the limit would end the stream and every watch on it: it fails alone.
    if (bytes + 16 > static_cast<size_t>(MaxMessageBytes())) {
      answer.clear_reply();
      answer.set_code(static_cast<int>(absl::StatusCode::kResourceExhausted));
      answer.set_message(absl::StrCat("the answer weighs ", bytes,
                                      " bytes, over the cluster's message limit of ",
                                      MaxMessageBytes(), " (--max-message-size)"));
      bytes = answer.ByteSizeLong();
    }
    queued_bytes_ += bytes;
    *queued_.add_answers() = std::move(answer);
    if (!writing_ && !finished_) WriteLocked();
  }

  void WriteLocked() {
    outgoing_.Clear();
    TakeBatch(*queued_.mutable_answers(), *outgoing_.mutable_answers(), MaxMessageBytes());
    size_t bytes = 0;
    for (const auto& answer : outgoing_.answers()) bytes += answer.ByteSizeLong();
    queued_bytes_ -= std::min(bytes, queued_bytes_);
    writing_ = true;
    this->StartWrite(&outgoing_);
  }

  void MaybeFinishLocked() {
    if (finished_ || writing_ || reading_ || queued_.answers_size() > 0) return;
    if (!closed_why_.empty()) return FinishClosedLocked();
    if (!cancelled_ && (!reads_done_ || !open_.empty())) return;
    finished_ = true;
    this->Finish(cancelled_ ? grpc::Status::CANCELLED : grpc::Status::OK);
  }

  const Start start_;
  WatchStreamsServed* served_;  // null: none
  const size_t max_open_;
  const size_t queued_budget_;
  std::shared_ptr<Shared> shared_;
  Batch incoming_;
  Answers outgoing_;  // being written
  Answers queued_;    // waiting for the write in flight
  // Guarded by shared_->mu:
  absl::flat_hash_map<uint64_t, Withdraw> open_;  // watches not answered yet
  bool reading_ = false;
  bool writing_ = false;
  bool reads_done_ = false;
  bool reads_paused_ = false;  // no read in flight: the queue is over budget
  bool cancelled_ = false;
  std::string closed_why_;  // set by Close
  bool finished_ = false;
  size_t queued_bytes_ = 0;
};

}  // namespace weft
