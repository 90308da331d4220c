#include "bench/weft_cases.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <functional>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <type_traits>

#include "absl/strings/str_format.h"
#include "bench/bench_actors.h"
#include "bench/measure.h"

namespace weft::bench {
namespace {

using Clock = std::chrono::steady_clock;
constexpr int kBatch = 1000;  // calls per pipelined batch, as in ray_perf.py
constexpr const char* kSyncFloor = "grpc_unary_sync";
constexpr const char* kAsyncFloor = "grpc_unary_callback_128";

double Seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

// Runs the cases the settings select and collects their rows.
class Cases {
 public:
  explicit Cases(const Settings& settings) : s(settings) {}

  bool Wanted(const std::string& name) const {
    return s.only.empty() || name.find(s.only) != std::string::npos;
  }
  void Add(CaseResult result, std::string floor, std::string note = "", std::string peer = "") {
    result.floor = std::move(floor);
    result.note = std::move(note);
    result.peer = std::move(peer);
    std::fprintf(stderr, "weft-bench: %s %.0f ops/s\n", result.name.c_str(), result.ops_per_s);
    out.push_back(std::move(result));
  }
  // A case of one operation at a time, `count` times.
  void Each(const std::string& name, const char* floor, int count, const std::function<void()>& op,
            std::string note = "", std::string peer = "") {
    if (Wanted(name)) Add(TimeEach(name, count, op), floor, std::move(note), std::move(peer));
  }
  // A case of batches of `per_batch` operations.
  void Batches(const std::string& name, int per_batch, const std::function<void()>& batch,
               std::string note = "", std::string peer = "") {
    if (!Wanted(name)) return;
    Add(TimeBatches(name, s.batches, per_batch, batch), kAsyncFloor, std::move(note),
        std::move(peer));
  }

  const Settings& s;
  std::vector<CaseResult> out;
};

// Submits one batch of calls from `submit(i)` and waits for all their values.
template <class Submit>
void Pipelined(int count, Submit submit) {
  std::vector<decltype(submit(0))> refs;
  refs.reserve(count);
  for (int i = 0; i < count; ++i) refs.push_back(submit(i));
  Get(refs);
}

// `callers` threads at once, each running `work()`.
template <class Work>
void InParallel(int callers, Work work) {
  std::vector<std::thread> threads;
  for (int c = 0; c < callers; ++c) threads.emplace_back(work);
  for (auto& thread : threads) thread.join();
}

void ObjectCases(Cases& cases) {
  const ObjectRef<int> value = Put(0);
  cases.Each(
      "single_client_get_calls", kSyncFloor, cases.s.local_ops, [&] { value.Get(); },
      "a local object");
  cases.Each(
      "single_client_put_calls", kSyncFloor, cases.s.local_ops, [] { Put(0); },
      "into this process's table");
}

void TaskCases(Cases& cases) {
  cases.Each("single_client_tasks_sync", kSyncFloor, cases.s.sync_calls,
             [] { Task(&SmallValue).Remote().Get(); });
  cases.Batches("single_client_tasks_async", kBatch,
                [] { Pipelined(kBatch, [](int) { return Task(&SmallValue).Remote(); }); });
}

// The actor shapes of ray_perf.py against class C ("actor" or "async_actor" in the names).
template <class C>
void ActorCases(Cases& cases, const std::string& kind) {
  const bool plain = kind == "actor";
  const int n = cases.s.n;
  const auto one = Actor<C>().Remote();
  one.Call(&C::SmallValue).Get();
  cases.Each(
      "1_1_" + kind + "_calls_sync", kSyncFloor, cases.s.sync_calls,
      [&] { one.Call(&C::SmallValue).Get(); }, "", plain ? "caf_actor_calls_sync" : "");
  cases.Batches(
      "1_1_" + kind + "_calls_async", kBatch,
      [&] { Pipelined(kBatch, [&](int) { return one.Call(&C::SmallValue); }); }, "",
      plain ? "caf_actor_calls_async" : "");
  if (plain && cases.Wanted("1_1_actor_calls_concurrent")) {
    const auto wide = Actor<C>({.max_concurrency = 16}).Remote();
    cases.Batches(
        "1_1_actor_calls_concurrent", kBatch,
        [&] { Pipelined(kBatch, [&](int) { return wide.Call(&C::SmallValue); }); },
        "max_concurrency 16");
  }
  if (!plain) {
    cases.Batches("1_1_async_actor_calls_with_args_async", kBatch, [&] {
      Pipelined(kBatch, [&](int i) { return one.Call(&C::SmallValueArg, i); });
    });
  }
  std::vector<ActorHandle<C>> actors;
  for (int i = 0; i < n; ++i) actors.push_back(Actor<C>().Remote());
  Pipelined(n, [&](int i) { return actors[i].Call(&C::SmallValue); });
  const std::string n_note = absl::StrFormat("N=%d", n);
  cases.Batches(
      "1_n_" + kind + "_calls_async", kBatch,
      [&] { Pipelined(kBatch, [&](int i) { return actors[i % n].Call(&C::SmallValue); }); },
      n_note);
  cases.Batches(
      "n_n_" + kind + "_calls_async", n * kBatch,
      [&] {
        InParallel(n, [&] {
          Pipelined(kBatch, [&](int i) { return actors[i % n].Call(&C::SmallValue); });
        });
      },
      n_note);
  if (!plain) return;
  cases.Batches(
      "n_n_actor_calls_with_arg_async", n * kBatch,
      [&] {
        InParallel(n, [&] {
          const ObjectRef<int> arg = Put(0);
          Pipelined(kBatch, [&](int i) { return actors[i % n].Call(&C::SmallValueArg, arg); });
        });
      },
      n_note + ", each call passing an ObjectRef");
}

// 1000 coroutines of one async actor wait on one Event: from Set to the last one done.
void FanoutCase(Cases& cases) {
  const Settings& s = cases.s;
  if (!cases.Wanted("async_event_fanout_1000")) return;
  const auto actor = Actor<AsyncEcho>({.max_concurrency = kBatch + 1}).Remote();
  std::vector<double> us;
  for (int round = 0; round < s.fanout_rounds; ++round) {
    std::vector<ObjectRef<int64_t>> waits;
    for (int i = 0; i < kBatch; ++i) waits.push_back(actor.Call(&AsyncEcho::WaitForSet));
    // Starts after the 1000 (calls start in order), so every one is waiting.
    const int64_t set_ns = actor.Call(&AsyncEcho::Set).Get();
    const auto done = Get(waits);
    us.push_back((*std::max_element(done.begin(), done.end()) - set_ns) / 1e3);
  }
  std::sort(us.begin(), us.end());
  CaseResult result{.name = "async_event_fanout_1000",
                    .ops_per_s = kBatch / (us[us.size() / 2] / 1e6),
                    .p50_us = us[us.size() / 2],
                    .p99_us = us.back(),
                    .latency_of = "Set to all 1000 done"};
  cases.Add(result, "", "ops/s = coroutines woken per second");
}

// CPU-bound calls on a thread-pool actor with max_concurrency 2 against 1.
void ThreadedSpeedupCase(Cases& cases) {
  const Settings& s = cases.s;
  if (!cases.Wanted("threaded_speedup")) return;
  // About 20 ms of work per call (5 ms when quick), measured here.
  int64_t iterations = 1 << 20;
  for (;;) {
    const auto start = Clock::now();
    Echo().Spin(iterations);
    if (Seconds(Clock::now() - start) > (s.quick ? 0.005 : 0.02)) break;
    iterations *= 2;
  }
  auto run = [&](int max_concurrency) {
    const auto actor = Actor<Echo>({.max_concurrency = max_concurrency}).Remote();
    actor.Call(&Echo::SmallValue).Get();
    const auto start = Clock::now();
    Pipelined(s.spin_calls, [&](int) { return actor.Call(&Echo::Spin, iterations); });
    return Seconds(Clock::now() - start);
  };
  const double one = run(1);
  const double two = run(2);
  CaseResult result{.name = "threaded_speedup",
                    .ops_per_s = s.spin_calls / two,
                    .floor = "max_concurrency 1",
                    .ratio = one / two};
  cases.Add(result, result.floor,
            absl::StrFormat("%d CPU-bound calls: %.0f ms at max_concurrency 2, %.0f ms at 1",
                            s.spin_calls, two * 1e3, one * 1e3));
}

// Brings every page of `value` into this process: one byte read per 4 KiB page. A copy of one's
// own has them already; a Blob's pages are mapped on first touch.
size_t TouchPages(std::string_view value) {
  size_t sum = 0;
  for (size_t i = 0; i < value.size(); i += 4096) sum += static_cast<unsigned char>(value[i]);
  return sum;
}

// Get of a large result that sits in another process's store, as a `Value` (std::string: a
// copy of the caller's own; weft::Blob: pointing into the node's shared memory), every page of
// it in this process by the end.
template <class Value>
void LargeGetCase(Cases& cases, const std::string& name, const std::string& floor, int64_t bytes,
                  int count, const ActorOptions& where = {}) {
  if (!cases.Wanted(name)) return;
  const auto actor = Actor<Echo>(where).Remote();
  std::vector<double> us;
  double total_s = 0;
  for (int i = 0; i < count + 1; ++i) {
    ObjectRef<Value> ref;
    if constexpr (std::is_same_v<Value, Blob>) {
      ref = actor.Call(&Echo::SharedBlob, bytes);
    } else {
      ref = actor.Call(&Echo::Blob, bytes);
    }
    Wait(std::vector{ref}, 1, std::nullopt, /*fetch_local=*/false);  // made, still over there
    const auto start = Clock::now();
    const Value value = ref.Get();
    const size_t touched = TouchPages(value);
    const double seconds = Seconds(Clock::now() - start);
    if (static_cast<int64_t>(value.size()) != bytes) throw Error(13, "large get: wrong size");
    if (touched == 0) throw Error(13, "large get: not the bytes made");
    if (i == 0) continue;  // warm-up
    us.push_back(seconds * 1e6);
    total_s += seconds;
  }
  std::sort(us.begin(), us.end());
  CaseResult result{.name = name,
                    .ops_per_s = count / total_s,
                    .p50_us = us[us.size() / 2],
                    .p99_us = us.back(),
                    .latency_of = "Get",
                    .bytes_per_s = static_cast<double>(bytes) * count / total_s};
  cases.Add(result, floor);
}

double RssKiB(int pid) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(status, line);) {
    if (line.rfind("VmRSS:", 0) == 0) return std::atof(line.c_str() + 6);
  }
  return 0;
}

// Creates `creation` idle actors of class A on the node; actors/s until every one answered, and
// the growth of the worker processes' resident memory per actor. Named `name`: the head's
// tables are stored (actor_creation_persisted, the default) or not (actor_creation and
// async_actor_creation, --storage memory).
template <class A>
void CreationCase(Cases& cases, const std::string& name) {
  const Settings& s = cases.s;
  if (!cases.Wanted(name)) return;
  const auto probe = Actor<A>().Remote();
  std::set<int> pids{probe.Call(&A::Pid).Get()};
  double before_kib = 0;
  for (int pid : pids) before_kib += RssKiB(pid);
  const auto start = Clock::now();
  std::vector<ActorHandle<A>> actors;
  actors.reserve(s.creation);
  for (int i = 0; i < s.creation; ++i) actors.push_back(Actor<A>().Remote());
  std::vector<ObjectRef<int>> answered;
  answered.reserve(s.creation);
  for (const auto& actor : actors) answered.push_back(actor.Call(&A::Pid));
  for (int pid : Get(answered)) pids.insert(pid);
  const double seconds = Seconds(Clock::now() - start);
  double after_kib = 0;
  for (int pid : pids) after_kib += RssKiB(pid);
  const double per_actor = (after_kib - before_kib) / s.creation;
  CaseResult result{.name = name, .ops_per_s = s.creation / seconds};
  cases.Add(result, "",
            absl::StrFormat("%d actors in %.2f s; workers' RSS +%.1f KiB per actor "
                            "(%zu worker processes)",
                            s.creation, seconds, per_actor, pids.size()));
  for (const auto& actor : actors) Kill(actor);
}

// 1 MiB results called, fetched and dropped one after another from an actor that lives
// throughout, as a user writes it: the growth of its worker's resident memory per result.
// Near zero when the worker frees each result once the driver's reference is gone.
void RetainedCase(Cases& cases) {
  const Settings& s = cases.s;
  if (!cases.Wanted("large_result_retained_bytes")) return;
  constexpr int64_t kBytes = 1 << 20;
  const auto actor = Actor<Echo>().Remote();
  const int pid = actor.Call(&Echo::Pid).Get();
  auto fetch_one = [&] {
    if (static_cast<int64_t>(actor.Call(&Echo::Blob, kBytes).Get().size()) != kBytes) {
      throw Error(13, "large_result_retained_bytes: wrong size");
    }
  };
  fetch_one();  // warm-up: the worker's buffers exist before the first reading
  const double before_kib = RssKiB(pid);
  const auto start = Clock::now();
  for (int i = 0; i < s.retained; ++i) fetch_one();
  const double seconds = Seconds(Clock::now() - start);
  const double grown_kib = RssKiB(pid) - before_kib;
  const double per_result = std::max(0.0, grown_kib) * 1024 / s.retained;
  CaseResult result{.name = "large_result_retained_bytes", .ops_per_s = s.retained / seconds};
  cases.Add(result, "",
            absl::StrFormat("%d results of 1 MiB fetched and dropped: worker RSS %+.0f KiB, "
                            "%.0f bytes retained per result",
                            s.retained, grown_kib, per_result));
}

}  // namespace

Settings Settings::For(bool quick) {
  Settings s;
  s.quick = quick;
  s.n = std::max(2u, std::thread::hardware_concurrency() / 2);
  if (quick) {
    s.sync_calls = 200;
    s.batches = 2;
    s.local_ops = 2000;
    s.creation = 100;
    s.fanout_rounds = 2;
    s.spin_calls = 4;
    s.large_1mib = 3;
    s.large_100mib = 1;
    s.retained = 20;
  }
  return s;
}

std::vector<CaseResult> RunWeftCases(const Settings& settings) {
  Cases cases(settings);
  ObjectCases(cases);
  TaskCases(cases);
  ActorCases<Echo>(cases, "actor");
  ActorCases<AsyncEcho>(cases, "async_actor");
  FanoutCase(cases);
  ThreadedSpeedupCase(cases);
  LargeGetCase<std::string>(cases, "get_large_1MiB", "grpc_bytes_1MiB", 1 << 20,
                            settings.large_1mib);
  LargeGetCase<std::string>(cases, "get_large_100MiB", "grpc_bytes_100MiB", 100 << 20,
                            settings.large_100mib);
  LargeGetCase<Blob>(cases, "get_large_100MiB_same_node", "grpc_bytes_100MiB", 100 << 20,
                     settings.large_100mib);
  RetainedCase(cases);
  CreationCase<Echo>(cases, "actor_creation_persisted");
  return std::move(cases.out);
}

std::vector<CaseResult> RunCrossNodeCase(const Settings& settings) {
  Cases cases(settings);
  LargeGetCase<Blob>(cases, kCrossNodeCase, "grpc_bytes_100MiB", 100 << 20, settings.large_100mib,
                     {.resources = {{"far", 1}}});
  return std::move(cases.out);
}

std::vector<CaseResult> RunCreationCase(const Settings& settings, const std::string& name) {
  Cases cases(settings);
  if (name.rfind("async_", 0) == 0) {
    CreationCase<AsyncEcho>(cases, name);
  } else {
    CreationCase<Echo>(cases, name);
  }
  return std::move(cases.out);
}

}  // namespace weft::bench
