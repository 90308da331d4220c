#pragma once

// What weft-head-scale asks of the head as a driver would: a job, its actors created in
// batches, and the list of them a page at a time.

#include <cstdint>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "bench/head_scale/scale_report.h"
#include "bench/head_scale/simulated_nodes.h"
#include "head.grpc.pb.h"

namespace weft::bench {

// Actors created with a name (the first of them): `NameOf(i)` in namespace "default".
inline constexpr int kNamedActors = 1000;
std::string NameOf(int64_t i);

// Registers a job as a driver does; its id.
absl::StatusOr<std::string> RegisterJob(proto::JobRegistry::Stub& jobs);

// Every actor, a page of 1,000 at a time (as `weft list actors`): how many, and how many ALIVE.
// Each page's latency goes to `page_us` when given.
struct Listing {
  int64_t listed = 0;
  int64_t alive = 0;
};
absl::StatusOr<Listing> ListAll(proto::ActorDirectory::Stub& actors,
                                std::vector<double>* page_us = nullptr);

// A job's actors created as a driver creates them: `batch` per CreateActors call, one call in
// flight, on nodes that tell when they were asked to construct each.
class ActorCreation {
 public:
  ActorCreation(proto::ActorDirectory::Stub& actors, const SimulatedNodes& nodes,
                std::string job_id, int batch)
      : actors_(actors), nodes_(nodes), job_id_(std::move(job_id)), batch_(batch) {}

  // Creates actors until there are `count`, then waits until the nodes were asked to construct
  // each and the head lists every one ALIVE (their answers applied), as a driver's first calls
  // wait for. DEADLINE_EXCEEDED after 10 minutes in all.
  absl::Status CreateUntil(int count);

  const std::vector<std::string>& ids() const { return ids_; }
  // Per CreateActors call; per actor, from its call's sending until its node was asked for it.
  const std::vector<double>& batch_us() const { return batch_us_; }
  std::vector<double> SentToConstructedUs() const;

 private:
  proto::ActorDirectory::Stub& actors_;
  const SimulatedNodes& nodes_;
  const std::string job_id_;
  const int batch_;
  const Clock::time_point deadline_ = Clock::now() + std::chrono::minutes(10);
  std::vector<std::string> ids_;
  absl::flat_hash_map<std::string, Clock::time_point> sent_at_;
  std::vector<double> batch_us_;
};

}  // namespace weft::bench
