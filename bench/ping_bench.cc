// Round trip of a call from a driver straight to a weft-worker process, as a ratio to the
// bare gRPC unary floor measured in the same run on the same machine: the same call to a
// plain echo server in a process of its own, with no token and no Weft code.
//
//   scripts/bench.sh            (starts its own cluster in a temp session dir)

#include <fcntl.h>
#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>
#include <grpcpp/security/server_credentials.h>
#include <grpcpp/server.h>
#include <grpcpp/server_builder.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "common/auth.h"
#include "common/process.h"
#include "common/rpc.h"
#include "common/session_dir.h"
#include "head.grpc.pb.h"
#include "worker.grpc.pb.h"

namespace {

using Clock = std::chrono::steady_clock;

// The floor: an echo service with no token check, nothing but gRPC.
class BareEcho final : public weft::proto::Worker::CallbackService {
  grpc::ServerUnaryReactor* Ping(grpc::CallbackServerContext* ctx,
                                 const weft::proto::PingRequest* req,
                                 weft::proto::PingReply* rep) override {
    rep->set_payload(req->payload());
    auto* reactor = ctx->DefaultReactor();
    reactor->Finish(grpc::Status::OK);
    return reactor;
  }
};

struct Stats {
  double p50_us, p99_us;
};

Stats Measure(weft::proto::Worker::Stub& stub, size_t payload_bytes, int calls) {
  weft::proto::PingRequest request;
  request.set_payload(std::string(payload_bytes, 'x'));
  std::vector<double> us;
  for (int i = 0; i < calls + calls / 10; ++i) {  // the first tenth warms up
    grpc::ClientContext context;
    weft::SetTimeout(context, std::chrono::seconds(10));
    weft::proto::PingReply reply;
    const auto start = Clock::now();
    if (!stub.Ping(&context, request, &reply).ok()) {
      std::fprintf(stderr, "ping failed\n");
      std::exit(1);
    }
    const double elapsed = std::chrono::duration<double, std::micro>(Clock::now() - start).count();
    if (i >= calls / 10) us.push_back(elapsed);
  }
  std::sort(us.begin(), us.end());
  return {us[us.size() / 2], us[us.size() * 99 / 100]};
}

int Shell(const std::string& command) { return std::system(command.c_str()); }

// `ping_bench --floor-server`: the floor's server, in a process of its own like a worker.
// Prints its port, then serves until its stdin closes.
int ServeFloor() {
  BareEcho echo;
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
  builder.RegisterService(&echo);
  auto server = builder.BuildAndStart();
  std::printf("%d\n", port);
  std::fflush(stdout);
  char byte;
  while (read(0, &byte, 1) > 0) {
  }
  server->Shutdown();
  return 0;
}

// Starts the floor server process; returns its port, and the pipe whose closing stops it.
int StartFloorServer(int* stop_fd) {
  int to_child[2], from_child[2];
  if (pipe2(to_child, O_CLOEXEC) != 0 || pipe2(from_child, O_CLOEXEC) != 0) std::exit(1);
  weft::SpawnOptions spawn{.argv = {weft::SiblingExecutable("ping_bench"), "--floor-server"},
                           .fds = {{to_child[0], 0}, {from_child[1], 1}}};
  if (!weft::SpawnProcess(spawn).ok()) std::exit(1);
  close(to_child[0]);
  close(from_child[1]);
  char line[32] = {};
  if (read(from_child[0], line, sizeof(line) - 1) <= 0) std::exit(1);
  close(from_child[0]);
  *stop_fd = to_child[1];
  return std::atoi(line);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc > 1 && std::string(argv[1]) == "--floor-server") return ServeFloor();
  const int calls = argc > 1 ? std::atoi(argv[1]) : 2000;
  const std::string weft = weft::SiblingExecutable("weft");
  char tmpl[] = "/tmp/weft-bench-XXXXXX";
  const std::string session = mkdtemp(tmpl);
  if (Shell(weft + " start --head --port 0 --num-cpus 1 --session-dir " + session +
            " > /dev/null") != 0) {
    return 1;
  }
  const weft::SessionDir dir(session);
  const std::string head = std::string(*weft::ReadFile(dir.HeadAddressPath()));
  const std::string token = *weft::ReadTokenFile(dir.TokenPath());
  const std::string head_address = head.substr(0, head.find('\n'));

  auto scheduler = weft::proto::Scheduler::NewStub(weft::MakeChannel(head_address, token));
  weft::proto::LeaseWorkerRequest lease;
  weft::proto::LeaseWorkerReply leased;
  grpc::ClientContext lease_context;
  weft::SetTimeout(lease_context, std::chrono::seconds(30));
  if (!scheduler->LeaseWorker(&lease_context, lease, &leased).ok()) return 1;
  auto worker = weft::proto::Worker::NewStub(weft::MakeChannel(leased.worker().address(), token));

  int stop_floor = -1;
  const int port = StartFloorServer(&stop_floor);
  auto floor = weft::proto::Worker::NewStub(
      grpc::CreateChannel("127.0.0.1:" + std::to_string(port), grpc::InsecureChannelCredentials()));

  std::printf("%-28s %10s %10s %10s %10s %8s\n", "call (payload)", "floor p50", "weft p50",
              "floor p99", "weft p99", "ratio");
  for (size_t bytes : {size_t{64}, size_t{64} << 10, size_t{1} << 20}) {
    const int n = bytes >= (1 << 20) ? calls / 10 : calls;
    const Stats base = Measure(*floor, bytes, n);
    const Stats ours = Measure(*worker, bytes, n);
    std::printf("%-28s %8.0fus %8.0fus %8.0fus %8.0fus %7.2fx\n",
                ("worker ping (" + std::to_string(bytes) + " B)").c_str(), base.p50_us, ours.p50_us,
                base.p99_us, ours.p99_us, ours.p50_us / base.p50_us);
  }
  close(stop_floor);
  Shell(weft + " stop --session-dir " + session + " > /dev/null");
  Shell("rm -rf " + session);
  return 0;
}
