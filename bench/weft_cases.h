#pragma once

// The benchmark's Weft cases: Ray's microbenchmark shapes (names are ray_perf.py's keys)
// and Weft's own. Runs against the cluster weft::Init connected to.

#include <string>
#include <vector>

#include "bench/report.h"

namespace weft::bench {

struct Settings {
  bool quick = false;
  std::string only;        // run only the cases whose name contains this
  int n = 2;               // actors and callers of the 1:n and n:n cases
  int sync_calls = 5000;   // one-at-a-time calls per sync case
  int batches = 30;        // batches of 1000 per pipelined case
  int local_ops = 100000;  // Get/Put of a local object
  int creation = 10000;    // actors created by actor_creation(_persisted)
  int fanout_rounds = 10;  // rounds of async_event_fanout_1000
  int spin_calls = 8;      // calls per threaded_speedup run
  int large_1mib = 50;     // Gets of get_large_1MiB
  int large_100mib = 10;   // Gets of get_large_100MiB (3 let one slow Get set the median)
  int retained = 10000;    // 1 MiB results fetched and dropped by large_result_retained_bytes

  static Settings For(bool quick);
};

std::vector<CaseResult> RunWeftCases(const Settings& settings);
// Only the actor creation case `name`: of async actors when it starts with "async_", else of
// thread-pool ones.
std::vector<CaseResult> RunCreationCase(const Settings& settings, const std::string& name);
// Only get_large_100MiB_cross_node: a Get from a node of another machine (the resource "far",
// see TwoMachineCluster), through gRPC.
inline constexpr char kCrossNodeCase[] = "get_large_100MiB_cross_node";
std::vector<CaseResult> RunCrossNodeCase(const Settings& settings);

}  // namespace weft::bench
