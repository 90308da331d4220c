#include "raylet/node/worker_output.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/logging.h"

namespace weft::node {
namespace {

// Reads per pipe in one DrainNow: a worker that never stops printing cannot hold it forever.
constexpr int kDrainReadsPerPipe = 64;

void AppendAll(int fd, const char* data, size_t size) {
  while (size > 0 && fd >= 0) {
    const ssize_t n = ::write(fd, data, size);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    data += n;
    size -= static_cast<size_t>(n);
  }
}

}  // namespace

WorkerOutputs::WorkerOutputs(asio::io_context& io, Sink sink) : io_(io), sink_(std::move(sink)) {}

WorkerOutputs::~WorkerOutputs() {
  absl::MutexLock lock(&mu_);
  while (!pipes_.empty()) CloseLocked(pipes_.begin()->first);
}

void WorkerOutputs::Watch(const proto::WorkerInfo& worker, int stdout_fd, int stderr_fd,
                          OutputOptions options) {
  absl::MutexLock lock(&mu_);
  Open(worker, stdout_fd, proto::LOG_STDOUT, worker.stdout_path(), options);
  if (stderr_fd >= 0) Open(worker, stderr_fd, proto::LOG_STDERR, worker.stderr_path(), options);
}

void WorkerOutputs::Open(const proto::WorkerInfo& worker, int fd, proto::LogStream stream,
                         const std::string& path, OutputOptions options) {
  // Non-blocking, so that DrainNow can read without waiting; asio reads are unaffected.
  fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
  auto pipe = std::make_unique<Pipe>(io_, fd);
  pipe->file = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (pipe->file < 0) spdlog::warn("cannot open worker log {}: {}", path, std::strerror(errno));
  pipe->options = options;
  pipe->meta.set_job_id(worker.job_id());
  pipe->meta.set_worker_id(worker.worker_id());
  pipe->meta.set_node_id(worker.node_id());
  pipe->meta.set_pid(worker.pid());
  pipe->meta.set_stream(stream);
  const uint64_t id = next_id_++;
  ReadMore(id, *pipe);
  pipes_.emplace(id, std::move(pipe));
}

void WorkerOutputs::ReadMore(uint64_t id, Pipe& pipe) {
  pipe.in.async_read_some(
      asio::buffer(pipe.buffer),
      [this, alive = std::weak_ptr<int>(alive_), id](const std::error_code& error, size_t size) {
        // A read still runs on the io_context after this object is gone (the node retired:
        // aborted, or done just before): nothing of it may be touched then. (Handlers and the
        // destructor run on the io_context's thread.)
        if (alive.expired()) return;
        OnRead(id, error, size);
      });
}

void WorkerOutputs::OnRead(uint64_t id, const std::error_code& error, size_t size) {
  absl::MutexLock lock(&mu_);
  auto it = pipes_.find(id);
  if (it == pipes_.end()) return;  // closed by DrainNow or the destructor
  Pipe& pipe = *it->second;
  if (size > 0) Consume(pipe, size);
  if (error) {
    CloseLocked(id);  // EOF: the worker and every process it shared the pipe with are gone
    return;
  }
  ReadMore(id, pipe);
}

void WorkerOutputs::Consume(Pipe& pipe, size_t size) {
  const int64_t most = pipe.options.max_file_bytes;
  if (most == 0 || pipe.kept < most) {
    const size_t kept = most == 0 ? size : std::min<size_t>(size, most - pipe.kept);
    AppendAll(pipe.file, pipe.buffer.data(), kept);
    pipe.kept += static_cast<int64_t>(kept);
    if (most != 0 && pipe.kept >= most) {
      const std::string note =
          absl::StrCat("\n[weft: the output past ", most, " bytes is not kept]\n");
      AppendAll(pipe.file, note.data(), note.size());
    }
  }
  if (!pipe.options.publish) return;
  pipe.splitter.Feed(std::string_view(pipe.buffer.data(), size),
                     [&](std::string text) { Publish(pipe, std::move(text)); });
}

void WorkerOutputs::Publish(Pipe& pipe, std::string text) {
  proto::LogLine line = pipe.meta;
  line.set_text(std::move(text));
  sink_(std::move(line));
}

void WorkerOutputs::DrainNow() {
  absl::MutexLock lock(&mu_);
  std::vector<uint64_t> ended;
  for (auto& [id, pipe] : pipes_) {
    for (int i = 0; i < kDrainReadsPerPipe; ++i) {
      const ssize_t n = ::read(pipe->in.native_handle(), pipe->buffer.data(), pipe->buffer.size());
      if (n > 0) {
        Consume(*pipe, static_cast<size_t>(n));
        continue;
      }
      if (n == 0 || (errno != EINTR && errno != EAGAIN)) ended.push_back(id);
      if (n == 0 || errno != EINTR) break;
    }
  }
  for (uint64_t id : ended) CloseLocked(id);
}

void WorkerOutputs::CloseLocked(uint64_t id) {
  auto it = pipes_.find(id);
  if (it == pipes_.end()) return;
  Pipe& pipe = *it->second;
  if (pipe.options.publish) {
    pipe.splitter.Finish([&](std::string text) { Publish(pipe, std::move(text)); });
  }
  if (pipe.file >= 0) ::close(pipe.file);
  std::error_code ignored;
  pipe.in.close(ignored);  // a pending read completes with operation_aborted and finds no pipe
  pipes_.erase(it);
}

int WorkerOutputs::open_pipes() const {
  absl::MutexLock lock(&mu_);
  return static_cast<int>(pipes_.size());
}

}  // namespace weft::node
