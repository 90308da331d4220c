// The CAF peer of Weft's actor-call benchmark: the same call shapes, measured on CAF 0.17
// remote actors (the io middleman, BASP over loopback TCP) with the echo actors in a server
// process of their own. Each call sends one int64_t and gets the same value back.
//
//   caf-peer [--quick] [--only <case>]   prints one line per case on stdout:
//       case <name> <ops_per_s> <p50_us> <p99_us> <bytes_per_s>
//   caf-peer --serve                     (started by the client) prints its port, then serves
//                                        until its stdin reaches EOF

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <CLI/CLI.hpp>
#include <caf/all.hpp>
#include <caf/io/all.hpp>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace {

using Clock = std::chrono::steady_clock;
using SpawnAtom = caf::atom_constant<caf::atom("spawn")>;
using BatchAtom = caf::atom_constant<caf::atom("batch")>;

constexpr auto kCallTimeout = std::chrono::seconds(10);
// A batch ends when its last call is answered or times out, so it is bounded by the call timeout.
constexpr auto kBatchTimeout = std::chrono::seconds(30);
constexpr auto kProcessTimeout = std::chrono::seconds(10);
constexpr int64_t kBatchSize = 1000;
constexpr int kParallelActors = 2;  // client actors (and echo actors) in the n:n case

double MicrosSince(Clock::time_point start) {
  return std::chrono::duration<double, std::micro>(Clock::now() - start).count();
}

absl::Status FromCaf(const caf::error& error, const caf::actor_system& system,
                     const std::string& what) {
  const std::string message = what + ": " + system.render(error);
  if (error == caf::sec::request_timeout) return absl::DeadlineExceededError(message);
  return absl::UnavailableError(message);
}

// Loads the io middleman; `threads` > 0 caps the scheduler's workers (CAF's default is
// max(4, cores)).
void Configure(caf::actor_system_config& config, size_t threads) {
  config.load<caf::io::middleman>();
  if (threads > 0) config.set("scheduler.max-threads", threads);
}

// ---- server -------------------------------------------------------------------------------

// Replies to an int64_t with the same value, and to `spawn` with a new echo actor linked to
// this one (so it goes when this one goes).
caf::behavior Echo(caf::event_based_actor* self) {
  return {
      [](int64_t x) { return x; },
      [self](SpawnAtom) { return caf::actor{self->spawn<caf::linked>(Echo)}; },
  };
}

int Serve(size_t threads) {
  caf::actor_system_config config;
  Configure(config, threads);
  caf::actor_system system(config);
  const caf::actor echo = system.spawn(Echo);
  const caf::expected<uint16_t> port = system.middleman().publish(echo, 0, "127.0.0.1");
  if (port) {
    std::printf("%u\n", static_cast<unsigned>(*port));
    std::fflush(stdout);
    char byte;
    for (ssize_t n = 1; n > 0 || (n < 0 && errno == EINTR);) n = read(0, &byte, 1);
  } else {
    std::fprintf(stderr, "caf-peer server: publish failed: %s\n",
                 system.render(port.error()).c_str());
  }
  caf::anon_send_exit(echo, caf::exit_reason::user_shutdown);
  return port ? 0 : 1;
}

// ---- the server process, seen from the client ---------------------------------------------

// `caf-peer --serve` in a child process. Closing its stdin stops it; the destructor does that
// and always reaps the child (killing it if it has not exited within kProcessTimeout).
class ServerProcess {
 public:
  ServerProcess() = default;
  ServerProcess(const ServerProcess&) = delete;
  ServerProcess& operator=(const ServerProcess&) = delete;
  ~ServerProcess() { (void)Stop(); }

  // Starts the child and waits (bounded) for the port it prints.
  [[nodiscard]] absl::StatusOr<uint16_t> Start(size_t threads);
  // Closes the child's stdin and reaps it; not OK if it did not exit cleanly.
  [[nodiscard]] absl::Status Stop();

 private:
  pid_t pid_ = -1;
  int stdin_fd_ = -1;
  int stdout_fd_ = -1;
};

absl::StatusOr<uint16_t> ServerProcess::Start(size_t threads) {
  const std::string threads_arg = std::to_string(threads);
  int to_child[2], from_child[2];
  if (pipe2(to_child, O_CLOEXEC) != 0) return absl::InternalError("pipe failed");
  if (pipe2(from_child, O_CLOEXEC) != 0) {
    close(to_child[0]);
    close(to_child[1]);
    return absl::InternalError("pipe failed");
  }
  pid_ = fork();
  if (pid_ == 0) {  // dup2 clears O_CLOEXEC on the copies
    dup2(to_child[0], 0);
    dup2(from_child[1], 1);
    execl("/proc/self/exe", "caf-peer", "--serve", "--scheduler-threads", threads_arg.c_str(),
          static_cast<char*>(nullptr));
    _exit(127);
  }
  close(to_child[0]);
  close(from_child[1]);
  stdin_fd_ = to_child[1];
  stdout_fd_ = from_child[0];
  if (pid_ < 0) return absl::InternalError("fork failed");

  std::string line;
  const auto deadline = Clock::now() + kProcessTimeout;
  while (line.find('\n') == std::string::npos) {
    const auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now());
    pollfd fd{.fd = stdout_fd_, .events = POLLIN};
    if (left.count() <= 0 || poll(&fd, 1, static_cast<int>(left.count())) == 0) {
      return absl::DeadlineExceededError("server pid=" + std::to_string(pid_) +
                                         " printed no port within 10 s");
    }
    char buffer[64];
    const ssize_t n = read(stdout_fd_, buffer, sizeof(buffer));
    if (n == 0) return absl::UnavailableError("server exited before printing its port");
    if (n > 0) line.append(buffer, n);
  }
  const int port = std::atoi(line.c_str());
  if (port <= 0 || port > 65535) return absl::InternalError("server printed no port: " + line);
  return static_cast<uint16_t>(port);
}

absl::Status ServerProcess::Stop() {
  if (stdin_fd_ >= 0) close(stdin_fd_);
  if (stdout_fd_ >= 0) close(stdout_fd_);
  stdin_fd_ = stdout_fd_ = -1;
  if (pid_ <= 0) return absl::OkStatus();
  int wait_status = 0;
  pid_t reaped = 0;
  for (auto deadline = Clock::now() + kProcessTimeout; reaped == 0 && Clock::now() < deadline;) {
    reaped = waitpid(pid_, &wait_status, WNOHANG);
    if (reaped == 0) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  const pid_t pid = pid_;
  pid_ = -1;
  if (reaped == 0) {
    kill(pid, SIGKILL);
    waitpid(pid, &wait_status, 0);
    return absl::DeadlineExceededError("server pid=" + std::to_string(pid) +
                                       " did not exit within 10 s of its stdin closing; killed");
  }
  if (reaped < 0 || !WIFEXITED(wait_status) || WEXITSTATUS(wait_status) != 0) {
    return absl::InternalError("server pid=" + std::to_string(pid) + " did not exit cleanly");
  }
  return absl::OkStatus();
}

// ---- measurements -------------------------------------------------------------------------

struct Result {
  double ops_per_s = 0, p50_us = 0, p99_us = 0;
  int64_t calls = 0;  // counted calls, without the warm-up
  double seconds = 0;
};

Result Summarize(int64_t calls, double seconds, std::vector<double> us) {
  Result result{.ops_per_s = calls / seconds, .calls = calls, .seconds = seconds};
  if (us.empty()) return result;
  std::sort(us.begin(), us.end());
  result.p50_us = us[us.size() / 2];
  result.p99_us = us[us.size() * 99 / 100];
  return result;
}

// One call outstanding at a time from a blocking actor; the first tenth warms up.
absl::StatusOr<Result> SyncCalls(caf::actor_system& system, const caf::actor& echo, int calls) {
  caf::scoped_actor self{system};
  const int warmup = calls / 10;
  std::vector<double> us;
  us.reserve(calls);
  absl::Status status;
  Clock::time_point begin = Clock::now();
  for (int64_t i = 0; i < warmup + calls && status.ok(); ++i) {
    if (i == warmup) begin = Clock::now();
    const auto start = Clock::now();
    self->request(echo, kCallTimeout, i)
        .receive(
            [&](int64_t x) {
              if (x != i) status = absl::InternalError("echo returned a different value");
              if (i >= warmup) us.push_back(MicrosSince(start));
            },
            [&](caf::error& error) { status = FromCaf(error, system, "sync call"); });
  }
  if (!status.ok()) return status;
  return Summarize(calls, MicrosSince(begin) / 1e6, std::move(us));
}

// A client actor: on {batch, n, record} it pipelines n calls to `echo` and replies n once all
// are answered (or the first error). With `record` it appends each call's latency to `*us`,
// which the requester may read once the reply has arrived.
caf::behavior Driver(caf::event_based_actor* self, caf::actor echo,
                     std::shared_ptr<std::vector<double>> us) {
  return {[=](BatchAtom, int64_t n, bool record) {
    // Copies of a response_promise are independent, so the handlers share one.
    auto promise = std::make_shared<caf::response_promise>(self->make_response_promise());
    auto left = std::make_shared<int64_t>(n);
    std::vector<double>* sink = us.get();  // the behaviour keeps it alive
    for (int64_t i = 0; i < n; ++i) {
      const auto start = Clock::now();
      self->request(echo, kCallTimeout, i)
          .then(
              [=](int64_t x) {
                if (record) sink->push_back(MicrosSince(start));
                if (x != i && promise->pending()) {
                  promise->deliver(caf::make_error(caf::sec::invalid_argument));
                }
                if (--*left == 0 && promise->pending()) promise->deliver(n);
              },
              [=](caf::error& error) {
                if (promise->pending()) promise->deliver(std::move(error));
              });
    }
    return *promise;
  }};
}

// One client actor per echo actor, each pipelining kBatchSize calls per batch; a batch ends
// when every actor has all its replies. One batch in ten (at least one) warms up first.
absl::StatusOr<Result> AsyncCalls(caf::actor_system& system, const std::vector<caf::actor>& echoes,
                                  int batches) {
  caf::scoped_actor self{system};
  // Shared: after a failed batch a driver may still record late replies.
  std::vector<std::shared_ptr<std::vector<double>>> us;
  std::vector<caf::actor> drivers;
  for (const caf::actor& echo : echoes) {
    us.push_back(std::make_shared<std::vector<double>>());
    us.back()->reserve(static_cast<size_t>(batches) * kBatchSize);
    drivers.push_back(system.spawn(Driver, echo, us.back()));
  }
  absl::Status status;
  auto run_batch = [&](bool record) {
    std::vector<decltype(self->request(drivers[0], kBatchTimeout, BatchAtom::value, kBatchSize,
                                       record))>
        pending;
    for (const caf::actor& driver : drivers) {
      pending.push_back(self->request(driver, kBatchTimeout, BatchAtom::value, kBatchSize, record));
    }
    for (auto& reply : pending) {
      reply.receive([](int64_t) {},
                    [&](caf::error& error) { status = FromCaf(error, system, "async batch"); });
    }
  };
  for (int k = 0; k < std::max(1, batches / 10) && status.ok(); ++k) run_batch(false);
  const auto begin = Clock::now();
  for (int k = 0; k < batches && status.ok(); ++k) run_batch(true);
  const double seconds = MicrosSince(begin) / 1e6;
  for (const caf::actor& driver : drivers) self->send_exit(driver, caf::exit_reason::user_shutdown);
  if (!status.ok()) return status;
  std::vector<double> all;
  for (const auto& v : us) all.insert(all.end(), v->begin(), v->end());
  return Summarize(static_cast<int64_t>(batches) * kBatchSize * echoes.size(), seconds,
                   std::move(all));
}

// ---- client -------------------------------------------------------------------------------

struct Options {
  bool quick = false;
  std::string only;              // empty: every case
  size_t scheduler_threads = 0;  // 0: CAF's default
};

struct Counts {
  int sync_calls;
  int async_batches;
  int n_n_batches;
};

// Asks the server's echo actor for `n` fresh echo actors.
absl::StatusOr<std::vector<caf::actor>> SpawnEchoes(caf::actor_system& system,
                                                    const caf::actor& echo, int n) {
  caf::scoped_actor self{system};
  std::vector<caf::actor> echoes;
  absl::Status status;
  for (int i = 0; i < n && status.ok(); ++i) {
    self->request(echo, kCallTimeout, SpawnAtom::value)
        .receive([&](caf::actor& a) { echoes.push_back(std::move(a)); },
                 [&](caf::error& error) { status = FromCaf(error, system, "spawn echo"); });
  }
  if (!status.ok()) return status;
  return echoes;
}

void PrintCase(const std::string& name, const Result& r) {
  std::printf("case %s %.1f %.1f %.1f 0\n", name.c_str(), r.ops_per_s, r.p50_us, r.p99_us);
  std::fflush(stdout);
  std::fprintf(stderr, "caf-peer: %s calls=%lld seconds=%.2f\n", name.c_str(),
               static_cast<long long>(r.calls), r.seconds);
}

absl::Status RunCases(caf::actor_system& system, const caf::actor& echo, const Options& options) {
  const Counts counts = options.quick
                            ? Counts{.sync_calls = 3000, .async_batches = 15, .n_n_batches = 10}
                            : Counts{.sync_calls = 12000, .async_batches = 200, .n_n_batches = 100};
  auto wanted = [&](const std::string& name) {
    return options.only.empty() || options.only == name;
  };
  if (wanted("caf_actor_calls_sync")) {
    absl::StatusOr<Result> result = SyncCalls(system, echo, counts.sync_calls);
    if (!result.ok()) return result.status();
    PrintCase("caf_actor_calls_sync", *result);
  }
  if (wanted("caf_actor_calls_async")) {
    absl::StatusOr<Result> result = AsyncCalls(system, {echo}, counts.async_batches);
    if (!result.ok()) return result.status();
    PrintCase("caf_actor_calls_async", *result);
  }
  if (wanted("caf_n_n_actor_calls_async")) {
    absl::StatusOr<std::vector<caf::actor>> echoes = SpawnEchoes(system, echo, kParallelActors);
    if (!echoes.ok()) return echoes.status();
    absl::StatusOr<Result> result = AsyncCalls(system, *echoes, counts.n_n_batches);
    if (!result.ok()) return result.status();
    PrintCase("caf_n_n_actor_calls_async", *result);
  }
  return absl::OkStatus();
}

absl::Status RunClient(const Options& options) {
  ServerProcess server;
  absl::StatusOr<uint16_t> port = server.Start(options.scheduler_threads);
  if (!port.ok()) return port.status();
  absl::Status status;
  {  // the actor system goes before the server does
    caf::actor_system_config config;
    Configure(config, options.scheduler_threads);
    caf::actor_system system(config);
    std::fprintf(stderr, "caf-peer: caf %d.%d.%d, %zu scheduler threads, int64 payload, port %u\n",
                 CAF_MAJOR_VERSION, CAF_MINOR_VERSION, CAF_PATCH_VERSION,
                 system.scheduler().num_workers(), static_cast<unsigned>(*port));
    caf::expected<caf::actor> echo = system.middleman().remote_actor("127.0.0.1", *port);
    if (!echo) {
      return FromCaf(echo.error(), system, "connect to 127.0.0.1:" + std::to_string(*port));
    }
    status = RunCases(system, *echo, options);
  }
  absl::Status stopped = server.Stop();
  return status.ok() ? stopped : status;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"CAF peer of Weft's actor-call benchmark"};
  bool serve = false;
  Options options;
  app.add_flag("--serve", serve, "Run the echo server (started by the client)");
  app.add_flag("--quick", options.quick, "A short run (about 1-2 s)");
  app.add_option("--only", options.only, "Run one case")
      ->check(CLI::IsMember(
          {"caf_actor_calls_sync", "caf_actor_calls_async", "caf_n_n_actor_calls_async"}));
  app.add_option("--scheduler-threads", options.scheduler_threads,
                 "Scheduler workers per process, client and server (0: CAF's default)");
  CLI11_PARSE(app, argc, argv);
  if (serve) return Serve(options.scheduler_threads);
  const absl::Status status = RunClient(options);
  if (!status.ok()) {
    std::fprintf(stderr, "caf-peer: %s\n", status.ToString().c_str());
    return 1;
  }
  return 0;
}
