#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "common/resources.h"

namespace weft::head {

// The order in which waiting lease requests get resources. Pure logic, no I/O, not
// thread-safe (the scheduler holds it under its lock).
//
// Requests of one resource shape are granted first in, first out. Shapes take turns by the
// age of their oldest request: a shape whose oldest request does not fit is passed over, so
// smaller requests keep the cluster busy, but only while that request has waited less than
// `max_bypass`; after that nothing younger is granted until it fits (no starvation of big
// shapes by a stream of small ones).
class LeaseQueue {
 public:
  enum class Fit { kGranted, kNoRoom, kInfeasible };
  // Tries to reserve `required` now; kGranted means the resources are held.
  using TryReserve = std::function<Fit(uint64_t id, const ResourceMap& required)>;

  explicit LeaseQueue(absl::Duration max_bypass = absl::Seconds(2)) : max_bypass_(max_bypass) {}

  // Queues a request that waits until `deadline` (InfiniteFuture for none); returns its id.
  uint64_t Add(const ResourceMap& required, absl::Time now, absl::Time deadline);

  // Removes a request; false when it is not queued (granted, expired or unknown).
  bool Remove(uint64_t id);

  // Offers resources to the queued requests in turn (see the class comment). Returns the ids
  // that left the queue: granted ones in `granted`, infeasible ones in `infeasible`.
  void Grant(absl::Time now, const TryReserve& try_reserve, std::vector<uint64_t>& granted,
             std::vector<uint64_t>& infeasible);

  // Removes and returns the requests whose deadline has passed.
  std::vector<uint64_t> Expire(absl::Time now);

  size_t size() const { return size_; }
  // One line per waiting shape: "CPU=2 x3 (oldest 4s)".
  std::vector<std::string> Describe(absl::Time now) const;

 private:
  struct Request {
    uint64_t id;
    absl::Time queued;
    absl::Time deadline;
  };
  using Shape = ResourceMap;
  std::vector<const Shape*> ShapesByAge() const;

  const absl::Duration max_bypass_;
  std::map<Shape, std::deque<Request>> shapes_;
  uint64_t next_id_ = 1;
  size_t size_ = 0;
};

}  // namespace weft::head
