#pragma once

// Timing loops shared by the cases, and the runner for the floor and peer programs.

#include <functional>
#include <string>
#include <vector>

#include "bench/report.h"

namespace weft::bench {

// Runs `op` `count` times one after another, after count/10 uncounted warm-up runs; p50/p99
// are per op.
CaseResult TimeEach(std::string name, int count, const std::function<void()>& op);

// Runs `batch` (which performs `per_batch` operations) `count` times after one uncounted
// warm-up batch; ops/s counts operations, p50/p99 are per batch.
CaseResult TimeBatches(std::string name, int count, int per_batch,
                       const std::function<void()>& batch);

// Runs a program next to this one (`grpc-floor`, `caf-peer`) and reads its result lines,
// `case <name> <ops_per_s> <p50_us> <p99_us> <bytes_per_s>`. A missing program gives none;
// one that fails is reported on stderr and gives what it printed.
std::vector<CaseResult> RunSibling(const std::string& program, bool quick);

// A cluster of two nodes in sessions of their own, started with the `weft` CLI next to this
// program: as far as objects go, two machines (neither maps the other's shared memory). The
// second node has the resource "far". Stopped when destroyed, and with this process if it dies.
class TwoMachineCluster {
 public:
  TwoMachineCluster();
  ~TwoMachineCluster();
  TwoMachineCluster(const TwoMachineCluster&) = delete;
  TwoMachineCluster& operator=(const TwoMachineCluster&) = delete;

  bool ok() const { return !address_.empty(); }
  const std::string& address() const { return address_; }  // the head's
  std::string head_session() const { return root_ + "/head"; }

 private:
  std::string root_;
  std::string address_;
};

}  // namespace weft::bench
