#include "echo_server.h"

#include <grpcpp/security/server_credentials.h>
#include <grpcpp/server.h>
#include <grpcpp/server_builder.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "echo.grpc.pb.h"

namespace weft::floor {
namespace {

// Well above the 1 MiB chunks the bytes cases use.
constexpr int kMaxMessageBytes = 64 << 20;
constexpr uint64_t kMaxChunkBytes = 16 << 20;

// Echoes every message of a Stream call in order, with at most one read and one write
// outstanding: a message that arrives while the previous echo is still being written waits
// for that write. gRPC calls are issued outside the lock (Finish may run OnDone inline).
class StreamEchoer final : public grpc::ServerBidiReactor<Payload, Payload> {
 public:
  StreamEchoer() { StartRead(&incoming_); }

  void OnReadDone(bool ok) override {
    absl::ReleasableMutexLock lock(&mu_);
    (ok ? held_ : reads_done_) = true;
    const Step step = NextLocked();
    lock.Release();
    Take(step);
  }

  void OnWriteDone(bool ok) override {
    absl::ReleasableMutexLock lock(&mu_);
    writing_ = false;
    write_failed_ = write_failed_ || !ok;
    const Step step = NextLocked();
    lock.Release();
    Take(step);
  }

  void OnDone() override { delete this; }

 private:
  enum class Step { kNone, kEcho, kFinish, kFail };

  Step NextLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (finished_ || writing_) return Step::kNone;
    if (held_ && !write_failed_) {
      held_ = false;
      writing_ = true;
      outgoing_.Swap(&incoming_);
      return Step::kEcho;
    }
    if (!reads_done_ && !write_failed_) return Step::kNone;
    finished_ = true;
    return write_failed_ ? Step::kFail : Step::kFinish;
  }

  void Take(Step step) {
    if (step == Step::kEcho) {
      StartWrite(&outgoing_);
      StartRead(&incoming_);
    } else if (step == Step::kFinish) {
      Finish(grpc::Status::OK);
    } else if (step == Step::kFail) {
      Finish(grpc::Status(grpc::StatusCode::UNAVAILABLE, "echo write failed"));
    }
  }

  // Only the read in flight writes `incoming_`, only the write in flight reads `outgoing_`.
  Payload incoming_;
  Payload outgoing_;
  absl::Mutex mu_;
  bool held_ ABSL_GUARDED_BY(mu_) = false;  // `incoming_` holds a message not yet echoed
  bool writing_ ABSL_GUARDED_BY(mu_) = false;
  bool reads_done_ ABSL_GUARDED_BY(mu_) = false;
  bool write_failed_ ABSL_GUARDED_BY(mu_) = false;
  bool finished_ ABSL_GUARDED_BY(mu_) = false;
};

// Streams a Fetch: the chunk is allocated once and written until `total_bytes` have gone.
class ChunkWriter final : public grpc::ServerWriteReactor<Payload> {
 public:
  explicit ChunkWriter(const FetchRequest& request) : remaining_(request.total_bytes()) {
    if (request.chunk_bytes() == 0 || request.chunk_bytes() > kMaxChunkBytes) {
      Finish(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                          "chunk_bytes must be in 1.." + std::to_string(kMaxChunkBytes)));
      return;
    }
    chunk_.mutable_data()->assign(std::min(remaining_, request.chunk_bytes()), 'x');
    WriteNext();
  }

  void OnWriteDone(bool ok) override {
    if (!ok) {
      Finish(grpc::Status(grpc::StatusCode::UNAVAILABLE, "fetch write failed"));
      return;
    }
    WriteNext();
  }

  void OnDone() override { delete this; }

 private:
  void WriteNext() {
    if (remaining_ == 0) {  // only for total_bytes 0
      Finish(grpc::Status::OK);
      return;
    }
    const uint64_t bytes = std::min<uint64_t>(remaining_, chunk_.data().size());
    chunk_.mutable_data()->resize(bytes);  // shrinks only for the last chunk
    remaining_ -= bytes;
    if (remaining_ == 0) {
      StartWriteAndFinish(&chunk_, grpc::WriteOptions(), grpc::Status::OK);
    } else {
      StartWrite(&chunk_);
    }
  }

  Payload chunk_;
  uint64_t remaining_;
};

class EchoService final : public Echo::CallbackService {
  grpc::ServerUnaryReactor* Unary(grpc::CallbackServerContext* context, const Payload* request,
                                  Payload* reply) override {
    reply->set_data(request->data());
    auto* reactor = context->DefaultReactor();
    reactor->Finish(grpc::Status::OK);
    return reactor;
  }

  grpc::ServerBidiReactor<Payload, Payload>* Stream(grpc::CallbackServerContext*) override {
    return new StreamEchoer;
  }

  grpc::ServerWriteReactor<Payload>* Fetch(grpc::CallbackServerContext*,
                                           const FetchRequest* request) override {
    return new ChunkWriter(*request);
  }
};

void WaitForStdinEof() {
  char buffer[256];
  ssize_t n;
  while ((n = read(STDIN_FILENO, buffer, sizeof(buffer))) > 0 || (n < 0 && errno == EINTR)) {
  }
}

}  // namespace

absl::Status ServeUntilStdinCloses() {
  EchoService service;
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
  builder.SetMaxReceiveMessageSize(kMaxMessageBytes);
  builder.SetMaxSendMessageSize(kMaxMessageBytes);
  builder.RegisterService(&service);
  const std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (server == nullptr || port == 0) {
    return absl::UnavailableError("echo server could not listen on 127.0.0.1");
  }
  std::printf("%d\n", port);
  std::fflush(stdout);
  WaitForStdinEof();
  server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
  return absl::OkStatus();
}

}  // namespace weft::floor
