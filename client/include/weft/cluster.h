#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "weft/error.h"

namespace weft {

// One node of the cluster as the head's node directory sees it.
struct NodeInfo {
  std::string node_id;
  std::string address;
  std::string hostname;
  bool is_head = false;
  bool alive = false;
  std::map<std::string, double> total;  // "CPU", "memory" (bytes), custom resources
  std::map<std::string, double> available;
  int num_workers = 0;
  std::string death_reason;  // why the head declared it DEAD
  int raylet_pid = 0;        // its daemon's process id
  std::chrono::system_clock::time_point last_heartbeat;
};

// What a worker process answered to a probe: see Cluster::ProbeWorker.
struct WorkerProbe {
  std::string worker_id;
  std::string node_id;
  int pid = 0;
  size_t bytes_echoed = 0;
  std::chrono::microseconds round_trip{0};
};

struct ConnectOptions {
  std::string address;      // head host:port; empty: $WEFT_ADDRESS, else the session's record
  std::string session_dir;  // empty: $WEFT_SESSION_DIR, else /tmp/weft-<uid>/default
};

// A driver's connection to a running cluster. Connecting registers a job with the head;
// closing (or destroying) the connection finishes it. Nodes() and ProbeWorker() may run on
// several threads at once; Close(), moves and destruction must not race with them.
// Movable, not copyable.
class Cluster {
 public:
  // Connects and registers a job. Throws Error when the head cannot be reached or refuses
  // the token.
  static Cluster Connect(const ConnectOptions& options = {});

  Cluster(Cluster&&) noexcept;
  Cluster& operator=(Cluster&&) noexcept;
  ~Cluster();

  const std::string& job_id() const;
  const std::string& head_address() const;

  // Every node the head knows, alive and dead, oldest first. Throws Error.
  std::vector<NodeInfo> Nodes() const;

  // Has the head start a worker process for this job (on a node with `num_cpus` free),
  // sends it `payload_bytes` of data, checks they come back intact, then has the worker
  // exit. Proves the whole road driver -> head -> node -> worker process -> driver.
  // Throws Error; a worker that was started is stopped either way.
  WorkerProbe ProbeWorker(size_t payload_bytes, double num_cpus = 1) const;

  // Finishes the job. Idempotent; the destructor calls it.
  void Close();

 private:
  struct Impl;
  explicit Cluster(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace weft
