#pragma once

#include <mutex>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "common/in_flight.h"

namespace weft::internal {

class WorkerChannels;

// Tells the workers that store this process's objects which of them no reference needs any
// more (Worker.FreeObjects). One call in flight per worker: ids freed meanwhile wait and go
// together in the next, so a burst of drops costs a few calls, not one each. A worker that does
// not answer is gone, and its objects with it. Thread-safe.
class ObjectFreer {
 public:
  ObjectFreer(WorkerChannels& workers, InFlight& in_flight)
      : workers_(workers), in_flight_(in_flight) {}

  void Free(const std::string& address, std::string id);

 private:
  void Send(const std::string& address, std::vector<std::string> ids);

  WorkerChannels& workers_;
  InFlight& in_flight_;
  std::mutex mu_;
  // Per worker address: ids waiting for the call in flight to end (an entry means one is).
  absl::flat_hash_map<std::string, std::vector<std::string>> waiting_;
};

}  // namespace weft::internal
