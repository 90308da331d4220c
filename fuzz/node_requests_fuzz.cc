// libFuzzer: arbitrary request messages to every method of the node's services
// (NodeManager, NodeLogs, TokenHolder) with the cluster token, as the head, its workers and
// the CLI would send them. A head and a node registered with it run in this process (so the
// fuzzer sees their code's coverage) behind real gRPC servers on 127.0.0.1; the node's
// workers are /bin/true, so a SpawnWorker that gets that far fails as a worker that exited
// before registering. A crash, a sanitizer report or a call that never ends is a finding.

#include <signal.h>
#include <stdlib.h>

#include <asio/executor_work_guard.hpp>
#include <asio/io_context.hpp>
#include <asio/post.hpp>
#include <asio/signal_set.hpp>
#include <filesystem>
#include <thread>

#include "fuzz/request_fuzzing.h"
#include "log.grpc.pb.h"
#include "node.grpc.pb.h"
#include "raylet/head/head.h"
#include "raylet/head/storage/table_store.h"
#include "raylet/node/node.h"
#include "token.grpc.pb.h"

namespace {

constexpr char kToken[] = "fuzz-token-0123456789abcdef0123456789abcdef0123456789abcdef0123";
char session_root[] = "/tmp/weft-fuzz-XXXXXX";

struct Fixture {
  weft::TokenAuth auth{kToken};
  std::unique_ptr<weft::SessionDir> session;
  std::unique_ptr<weft::head::Head> head;
  std::unique_ptr<grpc::Server> head_server;
  std::string head_address;
  // The node runs on an io_context of its own thread, which reaps its workers.
  asio::io_context io;
  asio::executor_work_guard<asio::io_context::executor_type> work = asio::make_work_guard(io);
  std::unique_ptr<asio::signal_set> children;
  weft::RayletOptions options;
  std::unique_ptr<weft::node::Node> node;
  std::unique_ptr<grpc::Server> node_server;
  std::string node_address;
  std::thread io_thread;
  std::unique_ptr<grpc::GenericStub> stub;
  std::vector<weft::fuzzing::Method> methods;
};

void ReapChildren(Fixture* f) {
  f->children->async_wait([f](const std::error_code& error, int) {
    if (error) return;
    f->node->OnChildExited();
    ReapChildren(f);
  });
}

Fixture* Make() {
  auto* f = new Fixture();
  if (!mkdtemp(session_root)) std::abort();
  // The node's session, with its shared memory folder in it (not in /dev/shm), go at the exit
  // (see LLVMFuzzerTestOneInput).
  const std::string root = session_root;
  std::filesystem::create_directories(root + "/shm");
  setenv("WEFT_SHM_DIR", (root + "/shm").c_str(), 1);
  f->session = std::make_unique<weft::SessionDir>(root);
  if (!f->session->Create().ok()) std::abort();

  auto head = weft::head::Head::Create({}, f->auth, kToken, weft::head::NewMemoryStore(),
                                       /*existed=*/false);
  if (!head.ok() || !(*head)->Recover().ok()) {
    std::fprintf(stderr, "cannot make a head: %s\n", head.status().ToString().c_str());
    std::abort();
  }
  f->head = *std::move(head);
  f->head_server = weft::fuzzing::Serve([f](grpc::ServerBuilder& b) { f->head->AddServices(b); },
                                        &f->head_address);

  f->options.session_dir = root;
  f->options.token = kToken;
  f->options.worker_binary = "/bin/true";
  f->options.resources = {{"CPU", 2}};
  f->options.object_store_memory = 64 << 20;
  f->node = std::make_unique<weft::node::Node>(f->io, f->options, f->auth, *f->session);
  f->node_server = weft::fuzzing::Serve([f](grpc::ServerBuilder& b) { f->node->AddServices(b); },
                                        &f->node_address);
  f->children = std::make_unique<asio::signal_set>(f->io, SIGCHLD);
  ReapChildren(f);
  f->io_thread = std::thread([f] { f->io.run(); });
  std::promise<absl::Status> started;
  asio::post(f->io, [f, &started] {
    started.set_value(
        f->node->Start({f->node_address, f->node_address, f->head_address}, [](absl::Status) {}));
  });
  if (auto status = started.get_future().get(); !status.ok()) {
    std::fprintf(stderr, "cannot start a node: %s\n", status.ToString().c_str());
    std::abort();
  }
  f->stub = std::make_unique<grpc::GenericStub>(
      grpc::CreateChannel(f->node_address, grpc::InsecureChannelCredentials()));
  // Descriptors are linked in once their messages are used.
  (void)weft::proto::DrainLogsRequest::descriptor();
  (void)weft::proto::AdoptTokenRequest::descriptor();
  f->methods = weft::fuzzing::MethodsOf({{"weft.proto.NodeManager", f->stub.get()},
                                         {"weft.proto.NodeLogs", f->stub.get()},
                                         {"weft.proto.TokenHolder", f->stub.get()}});
  return f;
}

void WriteSeeds(const Fixture& f, const std::string& dir) {
  weft::proto::SpawnWorkerRequest spawn;
  spawn.set_job_id("job-0001");
  (*spawn.mutable_required())["CPU"] = 1;
  weft::proto::RegisterWorkerRequest registered;
  registered.set_worker_id("0123456789abcdef");
  registered.set_address("127.0.0.1:1");
  weft::proto::KillWorkerRequest kill;
  kill.set_worker_id("0123456789abcdef");
  kill.set_retire(true);
  const weft::proto::AdoptTokenRequest adopt = weft::fuzzing::SeedRotation();
  weft::fuzzing::WriteSeeds(f.methods,
                            {{"/weft.proto.NodeManager/SpawnWorker", &spawn},
                             {"/weft.proto.NodeManager/RegisterWorker", &registered},
                             {"/weft.proto.NodeManager/KillWorker", &kill},
                             {"/weft.proto.TokenHolder/AdoptToken", &adopt}},
                            dir);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const int result = weft::fuzzing::FuzzOneRequest(&Make, &WriteSeeds, data, size);
  // The node, the head and their threads live until the process ends: at a normal exit
  // (libFuzzer's exit(0); a crash ends it with _Exit) the process's statics were destroyed
  // under those threads, an ASan use-after-free at exit whose report the exit cut short. The
  // latest handler registered runs first: it ends the process, its temp dir removed, before any
  // static goes. Registered after the first input, once the statics it touches exist.
  static const bool registered = [] {
    std::atexit([] {
      std::error_code ignored;
      std::filesystem::remove_all(session_root, ignored);
      std::_Exit(0);
    });
    return true;
  }();
  (void)registered;
  return result;
}
