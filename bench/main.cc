// weft-bench: Ray's microbenchmark cases on Weft, beside the bare gRPC floor (grpc-floor) and
// a C++ actor framework (caf-peer, when CAF was found), all measured in this one run.
//
//   scripts/bench.sh [--quick] [--json FILE]

#include <weft/weft.h>
#include <CLI/CLI.hpp>

#include <cstdio>
#include <filesystem>

#include "absl/strings/str_format.h"
#include "bench/measure.h"
#include "bench/weft_cases.h"

namespace {

// 1_1_actor_calls_async with the workers' call log off (WEFT_CALL_LOG=off): what recording
// every call for `weft timeline` and the nodes' /metrics costs.
constexpr char kUnloggedCase[] = "1_1_actor_calls_async_no_call_log";

// What the targets compare beyond a case and its floor.
void NoteRelations(std::vector<weft::bench::CaseResult>& cases) {
  auto find = [&](const std::string& name) -> weft::bench::CaseResult* {
    for (auto& c : cases) {
      if (c.name == name) return &c;
    }
    return nullptr;
  };
  auto* persisted = find("actor_creation_persisted");
  auto* in_memory = find("actor_creation");
  if (persisted && in_memory && persisted->ops_per_s > 0) {
    persisted->note += absl::StrFormat("; costs %.2fx actor_creation (head storing nothing)",
                                       in_memory->ops_per_s / persisted->ops_per_s);
  }
  auto* with_arg = find("n_n_actor_calls_with_arg_async");
  auto* without = find("n_n_actor_calls_async");
  if (with_arg && without && without->ops_per_s > 0) {
    with_arg->note +=
        absl::StrFormat("; %.2fx n_n_actor_calls_async", with_arg->ops_per_s / without->ops_per_s);
  }
}

// What the workers' call log costs, from the medians of the runs (one run's pair is noise).
void NoteCallLogCost(std::vector<weft::bench::CaseResult>& cases) {
  const weft::bench::CaseResult *unlogged = nullptr, *logged = nullptr;
  for (const auto& c : cases) {
    if (c.name == kUnloggedCase) unlogged = &c;
    if (c.name == "1_1_actor_calls_async") logged = &c;
  }
  if (unlogged == nullptr || logged == nullptr || unlogged->ops_per_s <= 0) return;
  const double cost = 100 * (1 - logged->ops_per_s / unlogged->ops_per_s);
  for (auto& c : cases) {
    if (&c == logged) c.note += absl::StrFormat("; the call log costs %.1f%% of medians", cost);
  }
}

// The one-at-a-time actor calls against the same shape in gRPC alone (grpc-floor's
// grpc_bidi_pingpong_callback: a stream, each echo handed by a callback thread to the thread
// that waits for it), from the medians: how far Weft is from what its call design costs in gRPC.
void NoteCallShapeFloor(std::vector<weft::bench::CaseResult>& cases) {
  constexpr char kShape[] = "grpc_bidi_pingpong_callback";
  const weft::bench::CaseResult* shape = nullptr;
  for (const auto& c : cases) {
    if (c.name == kShape) shape = &c;
  }
  if (shape == nullptr || shape->ops_per_s <= 0) return;
  for (auto& c : cases) {
    if (c.name == "1_1_actor_calls_sync" || c.name == "1_1_async_actor_calls_sync") {
      c.note += absl::StrFormat("; %.2fx %s (medians)", c.ops_per_s / shape->ops_per_s, kShape);
    }
  }
}

// One run of every selected case, on clusters of its own, with its ratios computed.
std::vector<weft::bench::CaseResult> RunOnce(const weft::bench::Settings& settings) {
  using namespace weft::bench;
  std::vector<CaseResult> cases;
  // The floor always, so that a run of a few cases (--only) still has its ratios.
  cases = RunSibling("grpc-floor", settings.quick);
  if (cases.empty()) std::fprintf(stderr, "weft-bench: no gRPC floor measured\n");
  if (settings.only.empty()) {
    for (auto& peer : RunSibling("caf-peer", settings.quick)) cases.push_back(std::move(peer));
  }
  // actor_creation: on a cluster whose head stores nothing, the cost the stored default
  // (actor_creation_persisted, below) is compared with; async_actor_creation the same with
  // async actors. Each on a cluster of its own: a worker that hosted actors before would reuse
  // their freed memory, and hide the cost of the new ones.
  for (const std::string name : {"actor_creation", "async_actor_creation"}) {
    if (name.find(settings.only) == std::string::npos) continue;
    setenv("WEFT_STORAGE", "memory", 1);  // read by the head that Init starts
    weft::Init({.address = "local", .forward_output = false});
    auto in_memory = RunCreationCase(settings, name);
    weft::Shutdown();
    unsetenv("WEFT_STORAGE");
    cases.insert(cases.end(), in_memory.begin(), in_memory.end());
  }
  // A cluster of its own, stopped at Shutdown; the job's output is not printed.
  weft::Init({.address = "local", .forward_output = false});
  auto ours = RunWeftCases(settings);
  weft::Shutdown();
  cases.insert(cases.end(), ours.begin(), ours.end());
  if (std::string(kUnloggedCase).find(settings.only) != std::string::npos) {
    setenv("WEFT_CALL_LOG", "off", 1);  // read by the workers of the cluster Init starts
    weft::Init({.address = "local", .forward_output = false});
    weft::bench::Settings one = settings;
    one.only = "1_1_actor_calls_async";
    auto unlogged = RunWeftCases(one);
    weft::Shutdown();
    unsetenv("WEFT_CALL_LOG");
    for (auto& result : unlogged) {
      result.name = kUnloggedCase;
      cases.push_back(std::move(result));
    }
  }
  // A result on another machine's node, which this process cannot map: fetched through gRPC.
  if (std::string(kCrossNodeCase).find(settings.only) != std::string::npos) {
    TwoMachineCluster two;
    if (!two.ok())
      throw weft::Error(14, "no cluster of two machines for " + std::string(kCrossNodeCase));
    weft::Init(
        {.address = two.address(), .session_dir = two.head_session(), .forward_output = false});
    auto far = RunCrossNodeCase(settings);
    weft::Shutdown();
    cases.insert(cases.end(), far.begin(), far.end());
  }
  ComputeRatios(cases);
  NoteRelations(cases);
  return cases;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"weft-bench: Weft's call latency and throughput against the gRPC floor"};
  bool quick = false;
  std::string json;
  app.add_flag("--quick", quick, "a few seconds of each case: checks that everything runs");
  std::string only;
  app.add_option("--json", json, "also write the results to this file as JSON");
  app.add_option("--only", only, "run only the Weft cases whose name contains this");
  int repeat = 0;
  app.add_option("--repeat", repeat,
                 "runs of every case (and its floor); the table shows medians and ranges "
                 "(default: 3, or 1 with --quick)")
      ->check(CLI::Range(1, 100));
  CLI11_PARSE(app, argc, argv);
  if (repeat == 0) repeat = quick ? 1 : 3;

  using namespace weft::bench;
  Settings settings = Settings::For(quick);
  settings.only = only;
  std::vector<std::vector<CaseResult>> runs;
  try {
    for (int i = 0; i < repeat; ++i) {
      if (repeat > 1) std::fprintf(stderr, "weft-bench: repeat %d of %d\n", i + 1, repeat);
      runs.push_back(RunOnce(settings));
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "weft-bench: %s\n", e.what());
    weft::Shutdown();
    return 1;
  }
  std::vector<CaseResult> cases = Medians(runs);
  NoteCallLogCost(cases);
  NoteCallShapeFloor(cases);
  const Machine machine = Machine::ThisOne();
  std::printf("N (actors and callers of the 1:n and n:n cases) = %d\n", settings.n);
  PrintTable(machine, cases, quick);
  if (!json.empty() && !WriteJson(json, machine, cases, quick)) {
    std::fprintf(stderr, "weft-bench: cannot write %s\n", json.c_str());
    return 1;
  }
  return 0;
}
