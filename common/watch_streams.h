#pragma once

#include <grpcpp/grpcpp.h>
#include <grpcpp/support/client_callback.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/cord.h"
#include "absl/strings/str_cat.h"
#include "common/in_flight.h"
#include "common/rpc.h"
#include "common/status.h"
#include "common/timers.h"
#include "common/watch_reactor.h"

namespace weft {

// How long a stream of watches stays open with no watch on it before it is closed (the next
// watch opens another): a process that follows its actors one watch after another keeps its
// stream, one that stopped asking a peer lets its connection go idle.
inline constexpr std::chrono::seconds kIdleWatchStream{30};

// Whether a watch's failure is its stream's (the peer gone, the connection cut, a stream the
// peer refused or ended), not an answer about the watch itself: asking again may succeed.
inline constexpr char kStreamFailurePayload[] = "weft.dev/watch-stream-failure";
inline bool IsStreamFailure(const absl::Status& status) {
  return status.GetPayload(kStreamFailurePayload).has_value();
}

// The caller's end of the streams of watches (see WatchReactor in common/watch_reactor.h): one
// stream per peer, on which each watch is what one unary long poll was, with its own deadline.
// A watch ends exactly once: answered by the peer, DEADLINE_EXCEEDED at its deadline (the peer
// is told to take it out), or with the stream's failure (UNAVAILABLE when the peer is gone or
// unreachable, CANCELLED when this process shuts down). The next watch after a failure opens
// a new stream. Thread-safe.
//
// Lifetimes: every stream's context is registered in `in_flight` until the stream is done, and
// `timers` must stop (Timers::Stop) before in_flight.CancelAllAndWait(): after it returns, no
// watch's `done` runs any more.
template <class Batch, class Answers>
class WatchStreams {
 public:
  using WatchMessage = std::decay_t<decltype(std::declval<const Batch&>().watches(0))>;
  using Answer = std::decay_t<decltype(std::declval<const Answers&>().answers(0))>;
  using Request = std::decay_t<decltype(std::declval<const WatchMessage&>().wait())>;
  using Reply = std::decay_t<decltype(std::declval<const Answer&>().reply())>;
  using Done = std::function<void(absl::StatusOr<Reply>)>;
  using Reactor = grpc::ClientBidiReactor<Batch, Answers>;
  // Starts the stream's call to `address` (e.g. stub.async()->WatchActors(context, reactor)).
  using Connect = std::function<void(const std::string& address, grpc::ClientContext*, Reactor*)>;

  // `wait_for_ready`: a stream to a peer that is down waits for it (its watches until their
  // deadlines), rather than failing at once.
  WatchStreams(Connect connect, InFlight& in_flight, Timers& timers, bool wait_for_ready)
      : connect_(std::move(connect)),
        in_flight_(in_flight),
        timers_(timers),
        wait_for_ready_(wait_for_ready) {}

  // Starts a watch on `address`'s stream (opening one if it has none). `done` runs exactly once,
  // on another thread, never inside Watch; false, without running it, once this process is
  // shutting down.
  [[nodiscard]] bool Watch(const std::string& address, Request request,
                           std::optional<Timers::Clock::time_point> deadline, Done done) {
    std::lock_guard lock(mu_);
    auto& stream = streams_[address];
    if (stream && stream->Add(request, deadline, done)) return true;
    // The watch goes in before the stream starts: one that fails at once (refused) fails it
    // on its own thread, rather than refusing it here again and again.
    auto opened = Stream::Open(*this, address, request, deadline, done);
    if (!opened) return false;
    stream = std::move(opened);
    if (++opened_ % 64 == 0) {  // peers watched once and no more
      for (auto it = streams_.begin(); it != streams_.end();) {
        if (it->second->ended()) {
          streams_.erase(it++);
        } else {
          ++it;
        }
      }
    }
    return true;
  }

  // How many streams are open (for tests).
  int open_streams() {
    std::lock_guard lock(mu_);
    int open = 0;
    for (auto& [address, stream] : streams_) open += stream && !stream->ended();
    return open;
  }

 private:
  class Stream final : public Reactor, public std::enable_shared_from_this<Stream> {
   public:
    // Starts a stream with its first watch; null when the process is shutting down.
    static std::shared_ptr<Stream> Open(WatchStreams& owner, const std::string& address,
                                        const Request& request,
                                        std::optional<Timers::Clock::time_point> deadline,
                                        Done& done) {
      std::shared_ptr<Stream> stream(new Stream(owner, address));
      stream->context_.set_wait_for_ready(owner.wait_for_ready_);
      if (!owner.in_flight_.Add(&stream->context_)) return nullptr;
      stream->self_ = stream;  // until OnDone
      owner.connect_(address, &stream->context_, stream.get());
      stream->AddHold();  // held until the stream ends here (ended_)
      stream->Add(request, deadline, done);
      stream->StartRead(&stream->incoming_);
      stream->StartCall();
      return stream;
    }

    // False when the stream is closing, has ended or is full (kMaxOpenWatches, which the
    // peer would refuse): open another.
    bool Add(const Request& request, std::optional<Timers::Clock::time_point> deadline,
             Done& done) {
      std::lock_guard lock(mu_);
      if (ended_ || closing_ || open_.size() >= kMaxOpenWatches) return false;
      const uint64_t id = ++last_id_;
      Waiting& waiting = open_[id];
      waiting.done = std::move(done);
      if (deadline) {
        waiting.timer = timers_.At(*deadline, [weak = this->weak_from_this(), id] {
          if (auto self = weak.lock()) self->Expire(id);
        });
      }
      WatchMessage& watch = *queued_.add_watches();
      watch.set_watch_id(id);
      *watch.mutable_wait() = request;
      if (!writing_) WriteLocked();
      return true;
    }

    bool ended() {
      std::lock_guard lock(mu_);
      return ended_ || closing_;
    }

    void OnWriteDone(bool ok) override {
      std::lock_guard lock(mu_);
      writing_ = false;
      if (!ok) return EndLocked();
      if (ended_) return;
      if (queued_.watches_size() > 0) return WriteLocked();
      if (closing_) {
        this->StartWritesDone();  // the peer ends the stream once it has read this
        return;
      }
    }

    void OnReadDone(bool ok) override {
      if (!ok) {
        std::lock_guard lock(mu_);
        return EndLocked();
      }
      std::vector<std::pair<Done, absl::StatusOr<Reply>>> answered;
      {
        std::lock_guard lock(mu_);
        for (auto& answer : *incoming_.mutable_answers()) {
          auto it = open_.find(answer.watch_id());
          if (it == open_.end()) continue;  // expired here meanwhile
          if (it->second.timer) timers_.Cancel(it->second.timer);
          absl::Status status(static_cast<absl::StatusCode>(answer.code()), answer.message());
          answered.emplace_back(std::move(it->second.done),
                                status.ok()
                                    ? absl::StatusOr<Reply>(std::move(*answer.mutable_reply()))
                                    : absl::StatusOr<Reply>(std::move(status)));
          open_.erase(it);
        }
        if (open_.empty()) IdleLocked();
      }
      incoming_.Clear();
      for (auto& [done, reply] : answered) done(std::move(reply));
      this->StartRead(&incoming_);
    }

    void OnDone(const grpc::Status& status) override {
      absl::flat_hash_map<uint64_t, Waiting> open;
      {
        std::lock_guard lock(mu_);
        ended_ = true;
        open.swap(open_);
      }
      absl::Status failure = FromGrpcStatus(status);
      if (failure.ok()) failure = absl::UnavailableError("the peer ended the stream of watches");
      failure = absl::Status(failure.code(),
                             absl::StrCat("watch stream to ", address_, ": ", failure.message()));
      failure.SetPayload(kStreamFailurePayload, absl::Cord());
      for (auto& [id, watch] : open) {
        if (watch.timer) timers_.Cancel(watch.timer);
        watch.done(failure);
      }
      open.clear();
      // From here this may go (the last reference may be self_): nothing follows but returning.
      in_flight_.Remove(&context_, [&] { self_.reset(); });
    }

   private:
    struct Waiting {
      Done done;
      uint64_t timer = 0;
    };

    Stream(WatchStreams& owner, std::string address)
        : in_flight_(owner.in_flight_), timers_(owner.timers_), address_(std::move(address)) {}

    void WriteLocked() {
      outgoing_.Clear();
      TakeBatch(*queued_.mutable_watches(), *outgoing_.mutable_watches(), MaxMessageBytes());
      writing_ = true;
      this->StartWrite(&outgoing_);
    }

    // Watch `id`'s deadline passed: it fails, and the peer is told to take it out.
    void Expire(uint64_t id) {
      Done done;
      {
        std::lock_guard lock(mu_);
        auto it = open_.find(id);
        if (it == open_.end()) return;
        done = std::move(it->second.done);
        open_.erase(it);
        if (!ended_) {
          WatchMessage& cancel = *queued_.add_watches();
          cancel.set_watch_id(id);
          cancel.set_cancel(true);
          if (!writing_) WriteLocked();
        }
        if (open_.empty()) IdleLocked();
      }
      done(absl::DeadlineExceededError(
          absl::StrCat("no answer from ", address_, " within the watch's deadline")));
    }

    // No watch is open: the stream closes unless one is open kIdleWatchStream later (one
    // timer at a time, however often the stream empties).
    void IdleLocked() {
      idle_since_ = Timers::Clock::now();
      if (ended_ || closing_ || idle_timer_ != 0) return;
      ArmIdleLocked(idle_since_ + kIdleWatchStream);
    }

    void ArmIdleLocked(Timers::Clock::time_point when) {
      idle_timer_ = timers_.At(when, [weak = this->weak_from_this()] {
        if (auto self = weak.lock()) self->CloseIfIdle();
      });
    }

    void CloseIfIdle() {
      std::lock_guard lock(mu_);
      idle_timer_ = 0;
      if (ended_ || closing_ || !open_.empty()) return;
      if (Timers::Clock::now() < idle_since_ + kIdleWatchStream) {
        return ArmIdleLocked(idle_since_ + kIdleWatchStream);  // emptied again since
      }
      closing_ = true;  // new watches open another stream
      // A write still in flight has not reached a peer that never answered (a head that is
      // down, waited for): the stream is cancelled rather than left open for its write.
      if (writing_) {
        context_.TryCancel();
      } else {
        this->StartWritesDone();
      }
    }

    void EndLocked() {
      if (ended_) return;
      ended_ = true;
      this->RemoveHold();  // OnDone follows once the operations in flight are done
    }

    InFlight& in_flight_;
    Timers& timers_;
    const std::string address_;
    grpc::ClientContext context_;
    std::shared_ptr<Stream> self_;
    Batch queued_;    // waiting for the write in flight
    Batch outgoing_;  // being written
    Answers incoming_;
    std::mutex mu_;
    absl::flat_hash_map<uint64_t, Waiting> open_;
    uint64_t last_id_ = 0;
    Timers::Clock::time_point idle_since_;  // when open_ last became empty
    uint64_t idle_timer_ = 0;
    bool writing_ = false;
    bool closing_ = false;  // writes done, or about to be: no new watches
    bool ended_ = false;
  };

  const Connect connect_;
  InFlight& in_flight_;
  Timers& timers_;
  const bool wait_for_ready_;
  std::mutex mu_;
  // By peer address: its stream (maybe ended, replaced by the next watch).
  absl::flat_hash_map<std::string, std::shared_ptr<Stream>> streams_;
  uint64_t opened_ = 0;
};

}  // namespace weft
