#pragma once

// One benchmark run's results: a row per case, printed as a table and written as JSON.

#include <optional>
#include <string>
#include <vector>

namespace weft::bench {

struct CaseResult {
  std::string name;
  double ops_per_s = 0;
  double p50_us = 0;  // per call for one-at-a-time cases, per batch for pipelined ones
  double p99_us = 0;
  std::string latency_of;  // "call", "batch of 1000", ... ; empty: not measured
  double bytes_per_s = 0;  // bytes cases only
  std::string floor;       // the case this one is compared with ("" for none)
  std::optional<double> ratio;
  std::string peer;  // the same shape on another actor framework, if measured
  std::optional<double> peer_ratio;
  std::string note;  // what else the case measured (e.g. memory per actor)
  // Over the repeats of a run (see Medians): how many, and the range of ops/s and ratio.
  int repeats = 1;
  double ops_min = 0, ops_max = 0;
  std::optional<double> ratio_min, ratio_max;
};

struct Machine {
  std::string cpu;
  unsigned cores = 0;
  double memory_gib = 0;
  std::string kernel;
  std::string compiler;

  static Machine ThisOne();
};

// Fills ratio (and peer_ratio) of each case from the rows its `floor` (and `peer`) name.
void ComputeRatios(std::vector<CaseResult>& cases);

// One row per case from `runs` (each with its ratios computed): the median run's row, with
// ops/s, bytes/s and the ratio taken as medians over the runs that measured the case, and
// their ranges. A ratio is the median of the runs' own ratios: a case and its floor measured in
// the same run share that run's noise.
std::vector<CaseResult> Medians(const std::vector<std::vector<CaseResult>>& runs);

void PrintTable(const Machine& machine, const std::vector<CaseResult>& cases, bool quick);
[[nodiscard]] bool WriteJson(const std::string& path, const Machine& machine,
                             const std::vector<CaseResult>& cases, bool quick);

}  // namespace weft::bench
