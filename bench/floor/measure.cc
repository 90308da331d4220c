#include "measure.h"

#include <algorithm>
#include <cmath>
#include <string>

namespace weft::floor {
namespace {

// The nearest-rank percentile `p` (0 < p <= 1) of sorted, non-empty `values`.
double Percentile(const std::vector<double>& values, double p) {
  const auto rank = static_cast<size_t>(std::ceil(p * static_cast<double>(values.size())));
  return values[std::clamp<size_t>(rank, 1, values.size()) - 1];
}

}  // namespace

double MicrosSince(Clock::time_point start) {
  return std::chrono::duration<double, std::micro>(Clock::now() - start).count();
}

CaseResult Summarize(int64_t ops, Clock::duration elapsed, std::vector<double> latencies_us,
                     double bytes) {
  const double seconds = std::chrono::duration<double>(elapsed).count();
  CaseResult result{.ops_per_s = static_cast<double>(ops) / seconds,
                    .bytes_per_s = bytes / seconds};
  if (!latencies_us.empty()) {
    std::sort(latencies_us.begin(), latencies_us.end());
    result.p50_us = Percentile(latencies_us, 0.50);
    result.p99_us = Percentile(latencies_us, 0.99);
  }
  return result;
}

absl::Status FromGrpc(std::string_view what, const grpc::Status& status) {
  if (status.ok()) return absl::OkStatus();
  // gRPC's and Abseil's canonical codes are the same numbers.
  return absl::Status(static_cast<absl::StatusCode>(status.error_code()),
                      std::string(what) + ": " + status.error_message());
}

}  // namespace weft::floor
