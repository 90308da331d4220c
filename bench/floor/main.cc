// grpc-floor: the bare gRPC floor that every Weft benchmark case is reported against, measured
// in the same run on the same machine. It starts `grpc-floor --serve` (an echo server on the
// callback API) as a child process and prints one line per case on stdout:
//
//   case <name> <ops_per_s> <p50_us> <p99_us> <bytes_per_s>
//
// p50/p99 are 0 where a per-operation latency means nothing, bytes_per_s 0 where no bulk data
// moves. Everything else goes to stderr.

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <string>
#include <vector>

#include <grpc/grpc.h>

#include "CLI/CLI.hpp"
#include "absl/status/status.h"
#include "callback_client.h"
#include "echo_client.h"
#include "echo_server.h"
#include "server_process.h"

namespace weft::floor {
namespace {

constexpr uint64_t kMiB = uint64_t{1} << 20;

struct FloorOptions {
  bool serve = false;
  bool quick = false;
  std::string only;  // empty: every case
};

// One case: its operation counts in --quick and full mode, and how it runs `ops` of them.
struct Case {
  std::string name;
  int quick_ops;
  int full_ops;
  std::function<absl::StatusOr<CaseResult>(Echo::Stub&, int ops)> run;
};

std::vector<Case> Cases() {
  return {
      {"grpc_unary_sync", 1000, 40000, RunUnarySync},
      {"grpc_unary_callback_128", 10000, 100000,
       [](Echo::Stub& stub, int ops) { return RunUnaryCallback(stub, ops, 128); }},
      {"grpc_bidi_stream", 20000, 300000, RunBidiStream},
      {"grpc_bidi_pingpong_callback", 1000, 40000, RunBidiPingPong},
      {"grpc_bytes_1MiB", 100, 3000,
       [](Echo::Stub& stub, int ops) { return RunFetch(stub, ops, kMiB, kMiB); }},
      {"grpc_bytes_100MiB", 3, 20,
       [](Echo::Stub& stub, int ops) { return RunFetch(stub, ops, 100 * kMiB, kMiB); }},
  };
}

// Keeps gRPC initialized until the process exits. Otherwise each case's channel would take the
// library down and up again, and in gRPC 1.51 the final grpc_shutdown() can block for ~10 s
// joining an executor thread parked in epoll_wait. The client calls it after forking the server.
void HoldGrpcUntilExit() { grpc_init(); }

// Runs a case on a fresh connection: a warm-up of a tenth of its operations (at least one),
// not counted, then the measured run.
absl::Status RunCase(const Case& c, int port, bool quick) {
  auto stub = ConnectEcho(port, absl::Seconds(10));
  if (!stub.ok()) return stub.status();
  const int ops = quick ? c.quick_ops : c.full_ops;
  if (auto warm_up = c.run(**stub, std::max(1, ops / 10)); !warm_up.ok()) {
    return absl::Status(warm_up.status().code(),
                        c.name + " warm-up: " + std::string(warm_up.status().message()));
  }
  const absl::StatusOr<CaseResult> result = c.run(**stub, ops);
  if (!result.ok()) {
    return absl::Status(result.status().code(),
                        c.name + ": " + std::string(result.status().message()));
  }
  std::printf("case %s %.2f %.1f %.1f %.0f\n", c.name.c_str(), result->ops_per_s, result->p50_us,
              result->p99_us, result->bytes_per_s);
  std::fflush(stdout);
  return absl::OkStatus();
}

absl::Status RunFloor(const FloorOptions& options) {
  auto server = ServerProcess::Start(absl::Seconds(10));
  if (!server.ok()) return server.status();
  HoldGrpcUntilExit();
  std::fprintf(stderr, "grpc-floor: echo server on 127.0.0.1:%d, %s mode\n", (*server)->port(),
               options.quick ? "quick" : "full");
  for (const Case& c : Cases()) {
    if (!options.only.empty() && c.name != options.only) continue;
    if (absl::Status status = RunCase(c, (*server)->port(), options.quick); !status.ok()) {
      return status;
    }
  }
  return (*server)->Stop(absl::Seconds(5));
}

}  // namespace
}  // namespace weft::floor

int main(int argc, char** argv) {
  weft::floor::FloorOptions options;
  std::vector<std::string> names;
  for (const auto& c : weft::floor::Cases()) names.push_back(c.name);

  CLI::App app{"The bare gRPC floor for Weft's benchmarks: one line per case on stdout."};
  app.add_flag("--serve", options.serve, "Run the echo server (started by the client itself)");
  app.add_flag("--quick", options.quick, "A short run of about two seconds");
  app.add_option("--only", options.only, "Run only this case")->check(CLI::IsMember(names));
  CLI11_PARSE(app, argc, argv);

  absl::Status status;
  if (options.serve) {
    weft::floor::HoldGrpcUntilExit();
    status = weft::floor::ServeUntilStdinCloses();
  } else {
    status = weft::floor::RunFloor(options);
  }
  if (!status.ok()) {
    std::fprintf(stderr, "grpc-floor: %s\n", status.ToString().c_str());
    return 1;
  }
  return 0;
}
