#pragma once

#include <array>
#include <asio/io_context.hpp>
#include <asio/posix/stream_descriptor.hpp>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "absl/synchronization/mutex.h"
#include "common.pb.h"
#include "log.pb.h"
#include "raylet/node/line_splitter.h"

namespace weft::node {

// How a process's output is kept (WorkerOutputs::Watch).
struct OutputOptions {
  bool publish = true;         // its lines go to the sink (not a driver's: it prints its workers')
  int64_t max_file_bytes = 0;  // its log file keeps this much, then says the rest is dropped;
                               // 0: all of it
};

// Tails the stdout/stderr pipes of a node's workers on the node's io_context. What a worker
// writes is appended, byte for byte, to its log file (WorkerInfo.stdout_path/stderr_path,
// which `weft logs` reads), and each line (split at 64 KiB) goes to `sink` tagged with the
// worker's job, ids, pid and stream. A pipe is read to its end after the worker exits.
// Thread-safe; `sink` runs under this object's lock and must not call back into it.
class WorkerOutputs {
 public:
  using Sink = std::function<void(proto::LogLine line)>;

  WorkerOutputs(asio::io_context& io, Sink sink);
  ~WorkerOutputs();  // closes the pipes still open; destroy before the io_context
  WorkerOutputs(const WorkerOutputs&) = delete;
  WorkerOutputs& operator=(const WorkerOutputs&) = delete;

  // Starts tailing `worker`'s pipes; takes ownership of the read ends (`stderr_fd` -1: one
  // pipe carries both streams, to stdout_path).
  void Watch(const proto::WorkerInfo& worker, int stdout_fd, int stderr_fd,
             OutputOptions options = {});

  // Reads whatever the pipes hold right now, without waiting for more (bounded per pipe).
  // Works whether or not the io_context runs, e.g. while the node shuts down.
  void DrainNow();

  int open_pipes() const;

 private:
  struct Pipe {
    Pipe(asio::io_context& io, int fd) : in(io, fd) {}
    asio::posix::stream_descriptor in;
    int file = -1;  // the log file, appended to
    OutputOptions options;
    int64_t kept = 0;     // bytes written to the file
    proto::LogLine meta;  // job, worker, node, pid, stream: copied into every line
    LineSplitter splitter;
    std::array<char, 64 * 1024> buffer;
  };
  void Open(const proto::WorkerInfo& worker, int fd, proto::LogStream stream,
            const std::string& path, OutputOptions options) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Publish(Pipe& pipe, std::string text) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void ReadMore(uint64_t id, Pipe& pipe) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void OnRead(uint64_t id, const std::error_code& error, size_t size);
  void Consume(Pipe& pipe, size_t size) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void CloseLocked(uint64_t id) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  asio::io_context& io_;
  const Sink sink_;
  mutable absl::Mutex mu_;
  std::map<uint64_t, std::unique_ptr<Pipe>> pipes_ ABSL_GUARDED_BY(mu_);
  uint64_t next_id_ ABSL_GUARDED_BY(mu_) = 1;
  // Expires with this object: a read that runs after it knows (see ReadMore).
  const std::shared_ptr<int> alive_ = std::make_shared<int>(0);
};

}  // namespace weft::node
