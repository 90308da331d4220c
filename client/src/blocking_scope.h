#pragma once

#include <string>

namespace weft::internal {

// Marks a wait in which the calling thread may block (weft::Get, weft::Wait). In a worker
// whose lease holds CPUs, the worker's node hears "blocked" when the first such wait in the
// process begins and "running" when the last one ends, and lends the CPUs to other work
// meanwhile (Ray's NotifyDirectCallTaskBlocked/Unblocked): a task that waits for its children
// does not hold the CPU they need. Does nothing in a driver, in a worker holding no CPU, or
// when `may_block` is false (the object is already here). The notification is a local RPC to
// the node, made only on those two edges; a node that cannot be reached is logged and the wait
// goes on. Thread-safe; scopes nest and overlap across threads.
class BlockingScope {
 public:
  explicit BlockingScope(bool may_block = true);
  ~BlockingScope();
  BlockingScope(const BlockingScope&) = delete;
  BlockingScope& operator=(const BlockingScope&) = delete;

  // Called once by a worker process before it runs anything: its node's NodeManager address,
  // its worker id and the cluster token. Until then (and in drivers) scopes do nothing.
  static void ConfigureWorker(const std::string& node_address, const std::string& worker_id,
                              const std::string& token);

 private:
  bool active_ = false;
};

}  // namespace weft::internal
