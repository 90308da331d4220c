#include "client/src/log_subscriber.h"

#include "client/src/head_calls.h"

#include <algorithm>
#include <iostream>

#include "common/logging.h"
#include "common/rpc.h"

namespace weft::internal {
namespace {

void PrintToStdStreams(proto::LogStream stream, const std::string& text) {
  std::ostream& out = stream == proto::LOG_STDERR ? std::cerr : std::cout;
  std::string line;
  line.reserve(text.size() + 1);
  line.append(text).push_back('\n');
  out.write(line.data(), static_cast<std::streamsize>(line.size()));
  out.flush();
}

}  // namespace

// The SubscribeLogs stream: reads batches one at a time, prints them, and records the
// highest sequence number printed for Flush.
class LogSubscriber::Reader final : public grpc::ClientReadReactor<proto::LogBatch> {
 public:
  Reader(proto::LogBroker::Stub& stub, const std::string& job_id, Printer printer)
      : printer_(std::move(printer)) {
    request_.set_job_id(job_id);
    stub.async()->SubscribeLogs(&context_, &request_, this);
    StartRead(&batch_);
    StartCall();
  }

  void OnReadDone(bool ok) override {
    if (!ok) return;  // the stream ended: OnDone follows
    {
      std::lock_guard<std::mutex> lock(mu_);
      for (const auto& line : batch_.lines()) {
        printer_(line.stream(), line.text());
        printed_seq_ = std::max(printed_seq_, line.seq());
        ++lines_printed_;
      }
    }
    progress_.notify_all();
    StartRead(&batch_);
  }

  void OnDone(const grpc::Status& status) override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      done_ = true;
      status_ = status;
      if (!status.ok() && !cancelled_ && status.error_code() != grpc::StatusCode::UNAVAILABLE) {
        spdlog::warn("worker output stream of job {} ended: {}", request_.job_id(),
                     status.error_message());
      }
      // Under the lock: CancelAndWait's caller deletes this as soon as it sees done_.
      progress_.notify_all();
    }
  }

  // Waits until the stream has ended; its final status.
  grpc::Status WaitDone() {
    std::unique_lock<std::mutex> lock(mu_);
    progress_.wait(lock, [&] { return done_; });
    return status_;
  }

  // Waits until lines up to `seq` are printed; false at `deadline` or if the stream ended.
  bool WaitPrinted(uint64_t seq, std::chrono::steady_clock::time_point deadline) {
    std::unique_lock<std::mutex> lock(mu_);
    progress_.wait_until(lock, deadline, [&] { return printed_seq_ >= seq || done_; });
    return printed_seq_ >= seq;
  }

  bool done() const {
    std::lock_guard<std::mutex> lock(mu_);
    return done_;
  }

  uint64_t lines_printed() const {
    std::lock_guard<std::mutex> lock(mu_);
    return lines_printed_;
  }

  // Cancels the call and waits for OnDone, after which gRPC no longer touches this object.
  void CancelAndWait() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      cancelled_ = true;
    }
    context_.TryCancel();
    std::unique_lock<std::mutex> lock(mu_);
    progress_.wait(lock, [&] { return done_; });
  }

 private:
  const Printer printer_;
  grpc::ClientContext context_;
  proto::SubscribeLogsRequest request_;
  proto::LogBatch batch_;  // owned by the read in flight
  mutable std::mutex mu_;
  std::condition_variable progress_;
  uint64_t printed_seq_ = 0;
  uint64_t lines_printed_ = 0;
  bool done_ = false;
  bool cancelled_ = false;
  grpc::Status status_;
};

LogSubscriber::LogSubscriber(std::shared_ptr<grpc::Channel> head_channel, std::string job_id,
                             Printer printer)
    : job_id_(std::move(job_id)),
      stub_(proto::LogBroker::NewStub(std::move(head_channel))),
      printer_(printer ? std::move(printer) : Printer(&PrintToStdStreams)) {
  reader_ = std::make_shared<Reader>(*stub_, job_id_, printer_);
  resubscriber_ = std::thread([this] { Resubscribe(); });
}

LogSubscriber::~LogSubscriber() {
  std::shared_ptr<Reader> reader;
  {
    std::lock_guard<std::mutex> lock(mu_);
    closing_ = true;
    reader = reader_;
  }
  changed_.notify_all();
  reader->CancelAndWait();
  resubscriber_.join();
}

std::shared_ptr<LogSubscriber::Reader> LogSubscriber::Current() const {
  std::lock_guard<std::mutex> lock(mu_);
  return reader_;
}

// A stream broken by the head going away (killed, restarting) is opened again every half
// second, for up to kHeadUnavailableWait: what workers print meanwhile waits at the head.
void LogSubscriber::Resubscribe() {
  StreamReopener reopen;
  auto give_up = [this] {
    std::lock_guard<std::mutex> lock(mu_);
    gave_up_ = true;
    changed_.notify_all();
  };
  for (;;) {
    const auto opened = StreamReopener::Clock::now();
    const grpc::Status ended = Current()->WaitDone();
    if (ended.error_code() != grpc::StatusCode::UNAVAILABLE) return give_up();
    const auto pause = reopen.Next(opened);
    if (!pause) {
      spdlog::warn("worker output stream of job {} ended: the head is unavailable: {}", job_id_,
                   ended.error_message());
      return give_up();
    }
    std::unique_lock<std::mutex> lock(mu_);
    if (changed_.wait_for(lock, *pause, [&] { return closing_; })) return;
    if (closing_) return;
    lines_before_ += reader_->lines_printed();
    reader_ = std::make_shared<Reader>(*stub_, job_id_, printer_);
    changed_.notify_all();
  }
}

bool LogSubscriber::Flush(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  std::shared_ptr<Reader> reader;
  {
    // A stream broken by a head that went away is being opened again: wait for it.
    std::unique_lock<std::mutex> lock(mu_);
    changed_.wait_until(lock, deadline, [&] { return closing_ || gave_up_ || !reader_->done(); });
    reader = reader_;
  }
  if (reader->done()) return false;
  grpc::ClientContext context;
  SetTimeout(context, timeout);
  proto::FlushLogsRequest request;
  request.set_job_id(job_id_);
  proto::FlushLogsReply reply;
  const grpc::Status status = stub_->FlushLogs(&context, request, &reply);
  if (!status.ok()) {
    spdlog::warn("cannot flush worker output of job {}: {}", job_id_, status.error_message());
    return false;
  }
  if (reply.nodes_failed() > 0) {
    spdlog::warn("worker output of job {} may be incomplete: {} nodes did not drain", job_id_,
                 reply.nodes_failed());
  }
  return reader->WaitPrinted(reply.last_seq(), deadline);
}

uint64_t LogSubscriber::lines_printed() const {
  std::lock_guard<std::mutex> lock(mu_);
  return lines_before_ + reader_->lines_printed();
}

}  // namespace weft::internal
