#include "raylet/head/lease_queue.h"

#include <algorithm>

#include "absl/strings/str_cat.h"

namespace weft::head {

uint64_t LeaseQueue::Add(const ResourceMap& required, absl::Time now, absl::Time deadline) {
  const uint64_t id = next_id_++;
  shapes_[required].push_back(Request{id, now, deadline});
  ++size_;
  return id;
}

bool LeaseQueue::Remove(uint64_t id) {
  for (auto it = shapes_.begin(); it != shapes_.end(); ++it) {
    auto& queue = it->second;
    auto found =
        std::find_if(queue.begin(), queue.end(), [id](const Request& r) { return r.id == id; });
    if (found == queue.end()) continue;
    queue.erase(found);
    --size_;
    if (queue.empty()) shapes_.erase(it);
    return true;
  }
  return false;
}

std::vector<const LeaseQueue::Shape*> LeaseQueue::ShapesByAge() const {
  std::vector<std::pair<absl::Time, const Shape*>> aged;
  for (const auto& [shape, queue] : shapes_) aged.emplace_back(queue.front().queued, &shape);
  std::stable_sort(aged.begin(), aged.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  std::vector<const Shape*> out;
  for (const auto& [age, shape] : aged) out.push_back(shape);
  return out;
}

void LeaseQueue::Grant(absl::Time now, const TryReserve& try_reserve,
                       std::vector<uint64_t>& granted, std::vector<uint64_t>& infeasible) {
  for (const Shape* shape : ShapesByAge()) {
    auto it = shapes_.find(*shape);
    auto& queue = it->second;
    while (!queue.empty()) {
      const Request request = queue.front();
      const Fit fit = try_reserve(request.id, it->first);
      if (fit == Fit::kNoRoom) {
        // A request that waited max_bypass holds back every younger one of other shapes.
        if (now - request.queued >= max_bypass_) return;
        break;
      }
      (fit == Fit::kGranted ? granted : infeasible).push_back(request.id);
      queue.pop_front();
      --size_;
    }
    if (queue.empty()) shapes_.erase(it);
  }
}

std::vector<uint64_t> LeaseQueue::Expire(absl::Time now) {
  std::vector<uint64_t> expired;
  for (auto it = shapes_.begin(); it != shapes_.end();) {
    auto& queue = it->second;
    for (auto r = queue.begin(); r != queue.end();) {
      if (r->deadline > now) {
        ++r;
        continue;
      }
      expired.push_back(r->id);
      r = queue.erase(r);
      --size_;
    }
    it = queue.empty() ? shapes_.erase(it) : std::next(it);
  }
  return expired;
}

std::vector<std::string> LeaseQueue::Describe(absl::Time now) const {
  std::vector<std::string> out;
  for (const Shape* shape : ShapesByAge()) {
    const auto& queue = shapes_.at(*shape);
    out.push_back(absl::StrCat(
        FormatResources(*shape), " x", queue.size(), " (oldest ",
        absl::FormatDuration(absl::Trunc(now - queue.front().queued, absl::Seconds(1))), ")"));
  }
  return out;
}

}  // namespace weft::head
