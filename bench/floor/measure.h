#pragma once

#include <grpcpp/support/status.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "absl/status/status.h"

namespace weft::floor {

using Clock = std::chrono::steady_clock;

// The payload of every case that does not move bulk data.
inline constexpr size_t kSmallPayloadBytes = 16;

// What one case measured. p50_us/p99_us are 0 where a per-operation latency means nothing;
// bytes_per_s is 0 where no bulk data moves.
struct CaseResult {
  double ops_per_s = 0;
  double p50_us = 0;
  double p99_us = 0;
  double bytes_per_s = 0;
};

// Microseconds from `start` to now.
double MicrosSince(Clock::time_point start);

// `ops` operations that took `elapsed` in all and moved `bytes` in all; `latencies_us` holds
// one latency per operation (empty where there is none).
CaseResult Summarize(int64_t ops, Clock::duration elapsed, std::vector<double> latencies_us,
                     double bytes = 0);

// A failed call's status, with what failed in front: "fetch: deadline exceeded".
absl::Status FromGrpc(std::string_view what, const grpc::Status& status);

}  // namespace weft::floor
