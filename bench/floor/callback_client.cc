#include "callback_client.h"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"

namespace weft::floor {
namespace {

constexpr auto kCallTimeout = std::chrono::seconds(10);
constexpr auto kCaseTimeout = std::chrono::seconds(120);

std::chrono::system_clock::time_point DeadlineIn(std::chrono::seconds timeout) {
  return std::chrono::system_clock::now() + timeout;
}

// Waits for `done`, which gRPC's deadlines guarantee. If it still does not come, calls
// still reference memory on this stack, so the only safe way out is to end the process.
void AwaitOrDie(absl::Notification& done, std::chrono::seconds timeout, const char* what) {
  if (done.WaitForNotificationWithTimeout(absl::FromChrono(timeout) + absl::Seconds(10))) return;
  std::fprintf(stderr, "grpc-floor: %s did not end after its deadline\n", what);
  std::_Exit(1);
}

// Keeps up to `in_flight` Unary calls outstanding until `calls` have completed. Each
// completion (on a gRPC thread) starts the next call. `outstanding_` counts started calls not
// yet completed, plus one held by Run while it starts the first ones; whoever brings it to
// zero ends the run.
class UnaryWindow {
 public:
  UnaryWindow(Echo::Stub& stub, int calls) : stub_(stub), calls_(calls), latencies_us_(calls) {
    request_.set_data(std::string(kSmallPayloadBytes, 'x'));
  }

  absl::StatusOr<CaseResult> Run(int in_flight) {
    start_ = Clock::now();
    for (int i = 0; i < in_flight; ++i) MaybeStartCall();
    Release();
    if (!done_.WaitForNotificationWithTimeout(absl::FromChrono(kCaseTimeout))) {
      Fail(absl::DeadlineExceededError("callback calls did not complete in time"));
      AwaitOrDie(done_, kCallTimeout, "callback unary call");
    }
    absl::MutexLock lock(&mu_);
    if (!error_.ok()) return error_;
    return Summarize(calls_, end_ - start_, std::move(latencies_us_));
  }

 private:
  struct Call {
    grpc::ClientContext context;
    Payload reply;
    Clock::time_point start;
  };

  void MaybeStartCall() {
    outstanding_.fetch_add(1);
    if (failed_.load() || started_.fetch_add(1) >= calls_) {
      Release();
      return;
    }
    auto* call = new Call;  // deleted by its callback
    call->context.set_deadline(DeadlineIn(kCallTimeout));
    call->start = Clock::now();
    stub_.async()->Unary(&call->context, &request_, &call->reply,
                         [this, call](grpc::Status status) { OnCallDone(call, status); });
  }

  void OnCallDone(Call* call, const grpc::Status& status) {
    latencies_us_[completed_.fetch_add(1)] = MicrosSince(call->start);
    const bool echoed = call->reply.data().size() == kSmallPayloadBytes;
    delete call;
    if (!status.ok()) {
      Fail(FromGrpc("callback unary call", status));
    } else if (!echoed) {
      Fail(absl::DataLossError("callback unary echo has the wrong size"));
    }
    MaybeStartCall();
    Release();
  }

  void Fail(absl::Status status) {
    absl::MutexLock lock(&mu_);
    if (error_.ok()) error_ = std::move(status);
    failed_.store(true);
  }

  void Release() {
    if (outstanding_.fetch_sub(1) != 1) return;
    end_ = Clock::now();
    done_.Notify();
  }

  Echo::Stub& stub_;
  const int calls_;
  Payload request_;
  std::vector<double> latencies_us_;  // slot i written by the i-th completion
  Clock::time_point start_;
  Clock::time_point end_;  // written before `done_` is notified
  std::atomic<int> outstanding_{1};
  std::atomic<int> started_{0};
  std::atomic<int> completed_{0};
  std::atomic<bool> failed_{false};
  absl::Notification done_;
  absl::Mutex mu_;
  absl::Status error_ ABSL_GUARDED_BY(mu_);
};

// One Stream call: a chain of writes (each started from the previous OnWriteDone) and a chain
// of reads run side by side; each chain touches only its own counter. No per-message latency:
// with writes back to back, the time from a write to its echo is how far the writer has run
// ahead (set by HTTP/2 flow control), not a round trip.
class EchoStream final : public grpc::ClientBidiReactor<Payload, Payload> {
 public:
  EchoStream(Echo::Stub& stub, int messages) : messages_(messages) {
    request_.set_data(std::string(kSmallPayloadBytes, 'x'));
    context_.set_deadline(DeadlineIn(kCaseTimeout));
    stub.async()->Stream(&context_, this);
  }

  absl::StatusOr<CaseResult> Run() {
    start_ = Clock::now();
    StartRead(&reply_);
    StartWrite(&request_);
    StartCall();
    AwaitOrDie(done_, kCaseTimeout, "echo stream");
    if (!status_.ok()) return FromGrpc("echo stream", status_);
    if (read_ != messages_) {
      return absl::DataLossError(
          absl::StrCat("echo stream returned ", read_, " of ", messages_, " messages"));
    }
    return Summarize(messages_, end_ - start_, /*latencies_us=*/{});
  }

  void OnWriteDone(bool ok) override {
    if (!ok) return;  // the stream broke; OnDone says why
    if (++written_ < messages_) {
      StartWrite(&request_);
    } else {
      StartWritesDone();
    }
  }

  void OnReadDone(bool ok) override {
    if (!ok) return;
    if (++read_ < messages_) StartRead(&reply_);
  }

  void OnDone(const grpc::Status& status) override {
    status_ = status;
    end_ = Clock::now();
    done_.Notify();
  }

 private:
  const int messages_;
  grpc::ClientContext context_;
  Payload request_;
  Payload reply_;
  int written_ = 0;  // the write chain's
  int read_ = 0;     // the read chain's
  Clock::time_point start_;
  Clock::time_point end_;  // written with `status_` before `done_` is notified
  grpc::Status status_;
  absl::Notification done_;
};

// One Stream call used one message at a time: the calling thread writes a message and sleeps
// until a gRPC callback thread hands it the echo, then writes the next. The shape of a Weft call
// made one at a time (one stream per caller and worker, the result handed to the thread waiting
// in Get), with nothing of Weft: what that design costs in gRPC's callback API alone.
class PingPong final : public grpc::ClientBidiReactor<Payload, Payload> {
 public:
  PingPong(Echo::Stub& stub, int messages) : messages_(messages), latencies_us_(messages) {
    request_.set_data(std::string(kSmallPayloadBytes, 'x'));
    context_.set_deadline(DeadlineIn(kCaseTimeout));
    stub.async()->Stream(&context_, this);
  }

  absl::StatusOr<CaseResult> Run() {
    StartCall();
    const Clock::time_point start = Clock::now();
    int echoed = 0;
    for (; echoed < messages_; ++echoed) {
      const Clock::time_point sent = Clock::now();
      {
        absl::MutexLock lock(&mu_);
        mu_.Await(absl::Condition(this, &PingPong::Writable));  // the last write came back
        if (broken_) break;
        writing_ = true;
        echoed_ = false;
      }
      StartRead(&reply_);
      StartWrite(&request_);
      absl::MutexLock lock(&mu_);
      mu_.Await(absl::Condition(this, &PingPong::Echoed));
      if (broken_) break;
      latencies_us_[echoed] = MicrosSince(sent);
    }
    const Clock::duration elapsed = Clock::now() - start;
    {
      absl::MutexLock lock(&mu_);
      mu_.Await(absl::Condition(this, &PingPong::Writable));
    }
    StartWritesDone();
    AwaitOrDie(done_, kCaseTimeout, "echo ping-pong");
    if (!status_.ok()) return FromGrpc("echo ping-pong", status_);
    if (echoed != messages_) {
      return absl::DataLossError(
          absl::StrCat("echo ping-pong returned ", echoed, " of ", messages_, " messages"));
    }
    return Summarize(messages_, elapsed, std::move(latencies_us_));
  }

  void OnWriteDone(bool ok) override {
    absl::MutexLock lock(&mu_);
    writing_ = false;
    broken_ |= !ok;
  }

  void OnReadDone(bool ok) override {
    absl::MutexLock lock(&mu_);
    echoed_ = ok;
    broken_ |= !ok;
  }

  void OnDone(const grpc::Status& status) override {
    {
      absl::MutexLock lock(&mu_);
      status_ = status;
      broken_ = true;
    }
    done_.Notify();
  }

 private:
  bool Writable() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return !writing_ || broken_; }
  bool Echoed() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return echoed_ || broken_; }

  const int messages_;
  std::vector<double> latencies_us_;  // the calling thread's
  grpc::ClientContext context_;
  Payload request_;
  Payload reply_;
  absl::Mutex mu_;
  bool writing_ ABSL_GUARDED_BY(mu_) = false;
  bool echoed_ ABSL_GUARDED_BY(mu_) = false;
  bool broken_ ABSL_GUARDED_BY(mu_) = false;
  grpc::Status status_;  // written before `done_` is notified
  absl::Notification done_;
};

}  // namespace

absl::StatusOr<CaseResult> RunUnaryCallback(Echo::Stub& stub, int calls, int in_flight) {
  return UnaryWindow(stub, calls).Run(in_flight);
}

absl::StatusOr<CaseResult> RunBidiStream(Echo::Stub& stub, int messages) {
  return EchoStream(stub, messages).Run();
}

absl::StatusOr<CaseResult> RunBidiPingPong(Echo::Stub& stub, int messages) {
  return PingPong(stub, messages).Run();
}

}  // namespace weft::floor
