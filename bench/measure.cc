#include "bench/measure.h"

#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <sstream>

namespace weft::bench {
namespace {

using Clock = std::chrono::steady_clock;

double Micros(Clock::duration d) { return std::chrono::duration<double, std::micro>(d).count(); }

void Percentiles(std::vector<double> us, CaseResult& result) {
  if (us.empty()) return;
  std::sort(us.begin(), us.end());
  result.p50_us = us[us.size() / 2];
  result.p99_us = us[std::min(us.size() - 1, us.size() * 99 / 100)];
}

// Runs `unit` `count` times; ops/s counts count * per_unit operations, p50/p99 are per unit.
CaseResult Timed(std::string name, int count, int per_unit, const std::function<void()>& unit,
                 std::string latency_of) {
  std::vector<double> us;
  us.reserve(count);
  const auto start = Clock::now();
  for (int i = 0; i < count; ++i) {
    const auto before = Clock::now();
    unit();
    us.push_back(Micros(Clock::now() - before));
  }
  const double seconds = Micros(Clock::now() - start) / 1e6;
  CaseResult result{.name = std::move(name),
                    .ops_per_s = static_cast<double>(count) * per_unit / seconds,
                    .latency_of = std::move(latency_of)};
  Percentiles(std::move(us), result);
  return result;
}

}  // namespace

CaseResult TimeEach(std::string name, int count, const std::function<void()>& op) {
  for (int i = 0; i < count / 10; ++i) op();
  return Timed(std::move(name), count, 1, op, "call");
}

CaseResult TimeBatches(std::string name, int count, int per_batch,
                       const std::function<void()>& batch) {
  batch();
  return Timed(std::move(name), count, per_batch, batch,
               per_batch == 1 ? "call" : "batch of " + std::to_string(per_batch));
}

std::vector<CaseResult> RunSibling(const std::string& program, bool quick) {
  const auto path = std::filesystem::read_symlink("/proc/self/exe").parent_path() / program;
  if (!std::filesystem::exists(path)) {
    std::fprintf(stderr, "weft-bench: %s is not built; its rows are missing\n", program.c_str());
    return {};
  }
  const std::string command = path.string() + (quick ? " --quick" : "");
  FILE* pipe = popen(command.c_str(), "r");
  if (!pipe) return {};
  std::vector<CaseResult> results;
  char line[512];
  while (std::fgets(line, sizeof(line), pipe)) {
    std::istringstream in(line);
    std::string word;
    CaseResult result;
    if (!(in >> word) || word != "case") continue;
    if (in >> result.name >> result.ops_per_s >> result.p50_us >> result.p99_us >>
        result.bytes_per_s) {
      result.latency_of = result.p50_us > 0 ? "call" : "";
      results.push_back(std::move(result));
    }
  }
  const int status = pclose(pipe);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    std::fprintf(stderr, "weft-bench: %s failed (status %d)\n", program.c_str(), status);
  }
  return results;
}

}  // namespace weft::bench
