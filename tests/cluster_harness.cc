#include "tests/cluster_harness.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <algorithm>
#include <cstdlib>

#include <filesystem>
#include <fstream>
#include <thread>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "common/auth.h"
#include "common/cluster_tls.h"
#include "common/process.h"
#include "common/rpc.h"
#include "common/session_dir.h"
#include "common/transport_security.h"

namespace weft::testing {
namespace {

// Reads both pipes until they close or the deadline passes; true if they closed in time.
bool Drain(int out_fd, int err_fd, std::string& out, std::string& err,
           std::chrono::steady_clock::time_point deadline) {
  pollfd fds[2] = {{out_fd, POLLIN, 0}, {err_fd, POLLIN, 0}};
  std::string* sinks[2] = {&out, &err};
  int open_count = 2;
  while (open_count > 0) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    if (poll(fds, 2, static_cast<int>(left.count())) <= 0) continue;
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP))) continue;
      char buf[4096];
      const ssize_t n = read(fds[i].fd, buf, sizeof(buf));
      if (n > 0) {
        sinks[i]->append(buf, n);
      } else {
        fds[i].fd = -1;
        --open_count;
      }
    }
  }
  return true;
}

}  // namespace

std::string BinPath(const std::string& name) { return std::string(WEFT_BIN_DIR) + "/" + name; }

CommandResult Run(std::vector<std::string> argv, std::chrono::milliseconds timeout,
                  const std::vector<std::string>& extra_env) {
  int out_pipe[2], err_pipe[2];
  EXPECT_EQ(pipe2(out_pipe, O_CLOEXEC), 0);
  EXPECT_EQ(pipe2(err_pipe, O_CLOEXEC), 0);
  SpawnOptions spawn{
      .argv = std::move(argv), .extra_env = extra_env, .fds = {{out_pipe[1], 1}, {err_pipe[1], 2}}};
  auto pid = SpawnProcess(spawn);
  close(out_pipe[1]);
  close(err_pipe[1]);
  CommandResult result;
  if (!pid.ok()) {
    ADD_FAILURE() << pid.status();
  } else {
    // A daemon started by the command may inherit the pipes; stop reading at the deadline.
    const bool closed = Drain(out_pipe[0], err_pipe[0], result.out, result.err,
                              std::chrono::steady_clock::now() + timeout);
    if (!closed) kill(*pid, SIGKILL);
    int status = 0;
    waitpid(*pid, &status, 0);
    result.exit_code = closed && WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }
  close(out_pipe[0]);
  close(err_pipe[0]);
  return result;
}

CommandResult Weft(std::vector<std::string> args, std::chrono::milliseconds timeout) {
  args.insert(args.begin(), BinPath("weft"));
  return Run(std::move(args), timeout);
}

int ModeOf(const std::string& path) {
  struct stat st {};
  return stat(path.c_str(), &st) == 0 ? static_cast<int>(st.st_mode & 0777) : -1;
}

bool WaitFor(const std::function<bool()>& condition, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!condition()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return true;
}

int64_t ProcessMemory(int pid, const std::string& figure) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  const std::string key = figure + ":";
  std::string word;
  int64_t kib = 0;
  while (status >> word) {
    if (word == key) {
      status >> kib;
      return kib * 1024;
    }
  }
  return -1;
}

TempDir::TempDir() {
  char tmpl[] = "/tmp/weft-test-XXXXXX";
  path_ = mkdtemp(tmpl);
}

TempDir::~TempDir() {
  if (std::getenv("WEFT_KEEP_TEST_DIRS")) return;  // for reading a failed test's logs
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

double ResourceTotal(const proto::NodeInfo& node, const std::string& name) {
  const auto it = node.total().find(name);
  return it == node.total().end() ? -1 : it->second;
}

std::vector<pid_t> RayletPids(const std::string& session_dir) {
  std::vector<pid_t> pids;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(session_dir + "/raylets", ec)) {
    int pid = 0;
    if (absl::SimpleAtoi(entry.path().filename().string(), &pid)) pids.push_back(pid);
  }
  return pids;
}

Stopped::Stopped(pid_t pid) : pid_(kill(pid, SIGSTOP) == 0 ? pid : -1) {}

void Stopped::Resume() {
  if (pid_ > 0) kill(std::exchange(pid_, -1), SIGCONT);
}

TestCluster::TestCluster(double num_cpus, std::vector<std::string> extra) {
  head_session_ = root_.Sub("head");
  std::vector<std::string> args = {
      "start", "--head", "--port", "0", "--session-dir", head_session_, "--num-cpus",
      std::to_string(num_cpus),
      // A test killed (by a timeout, by hand) takes its daemons with it.
      "--exit-with-pid", std::to_string(getpid())};
  // Not 8265: heads of tests running side by side would all try it.
  if (std::find(extra.begin(), extra.end(), "--dashboard-port") == extra.end()) {
    args.insert(args.end(), {"--dashboard-port", "0"});
  }
  args.insert(args.end(), extra.begin(), extra.end());
  head_args_ = args;
  sessions_.push_back(head_session_);
  const auto started = Weft(args);
  EXPECT_EQ(started.exit_code, 0) << started.out << started.err;
  auto address = ReadFile(SessionDir(head_session_).HeadAddressPath());
  EXPECT_TRUE(address.ok()) << address.status();
  if (address.ok()) head_address_ = std::string(absl::StripAsciiWhitespace(*address));
  auto token = ReadTokenFile(token_file());
  if (token.ok()) token_ = *token;
  // A head with TLS (--tls, or beyond loopback): this test's own channels trust its CA, and
  // show the head's certificate to servers that ask for one (--mutual-tls), as the CLI on the
  // head's machine does.
  if (auto files = ReadTlsFiles(SessionDir(head_session_).TlsDir()); files.ok()) {
    SetTransportSecurity(*std::move(files));
  }
}

TestCluster::~TestCluster() {
  for (auto it = sessions_.rbegin(); it != sessions_.rend(); ++it) {
    const auto pids = RayletPids(*it);
    StopSession(*it);
    for (pid_t pid : pids) {
      if (ProcessAlive(pid)) kill(pid, SIGKILL);
    }
  }
}

pid_t TestCluster::HeadPid() const {
  for (pid_t pid : RayletPids(head_session_)) {
    if (ProcessAlive(pid)) return pid;  // records of killed raylets stay behind
  }
  return -1;
}

CommandResult TestCluster::RestartHead(std::vector<std::string> extra,
                                       const std::string& session_dir, bool same_port) {
  std::vector<std::string> args = head_args_;
  const std::string port = same_port ? head_address_.substr(head_address_.rfind(':') + 1) : "0";
  for (size_t i = 0; i + 1 < args.size(); ++i) {
    if (args[i] == "--port") args[i + 1] = port;
    if (args[i] == "--session-dir" && !session_dir.empty()) args[i + 1] = session_dir;
  }
  if (!session_dir.empty()) sessions_.push_back(session_dir);
  args.insert(args.end(), extra.begin(), extra.end());
  return Weft(args);
}

std::string TestCluster::JoinNode(std::vector<std::string> extra,
                                  std::vector<std::string> wrapper) {
  const std::string session = root_.Sub("node" + std::to_string(next_node_++));
  std::vector<std::string> args = std::move(wrapper);
  args.insert(args.end(),
              {BinPath("weft"), "start", "--address", head_address_, "--session-dir", session,
               "--token-file", token_file(), "--exit-with-pid", std::to_string(getpid())});
  args.insert(args.end(), extra.begin(), extra.end());
  sessions_.push_back(session);
  const auto started = Run(args);
  EXPECT_EQ(started.exit_code, 0) << started.out << started.err;
  return started.exit_code == 0 ? session : "";
}

proto::ListNodesReply TestCluster::ListNodes() const {
  auto stub = proto::NodeDirectory::NewStub(MakeChannel(head_address_, token_));
  grpc::ClientContext context;
  SetTimeout(context, std::chrono::seconds(5));
  proto::ListNodesReply reply;
  // Quiet on failure: callers poll this in WaitFor, and an empty table fails their checks.
  if (!stub->ListNodes(&context, proto::ListNodesRequest(), &reply).ok()) return {};
  return reply;
}

int TestCluster::AliveNodeCount() const {
  const auto table = ListNodes();
  return static_cast<int>(
      std::count_if(table.nodes().begin(), table.nodes().end(),
                    [](const proto::NodeInfo& node) { return node.state() == proto::NODE_ALIVE; }));
}

std::optional<proto::ListObjectsReply> TestCluster::ListObjects() const {
  auto stub = proto::ObjectDirectory::NewStub(MakeChannel(head_address_, token_));
  grpc::ClientContext context;
  SetTimeout(context, std::chrono::seconds(5));
  proto::ListObjectsReply reply;
  if (!stub->ListObjects(&context, proto::ListObjectsRequest(), &reply).ok()) return std::nullopt;
  return reply;
}

int TestCluster::ObjectCount() const {
  const auto reply = ListObjects();
  return reply ? reply->objects_size() : -1;
}

proto::ActorStats TestCluster::StatsOf(const proto::ActorInfo& actor) const {
  auto stub = proto::Worker::NewStub(MakeChannel(actor.address(), token_));
  grpc::ClientContext context;
  SetTimeout(context, std::chrono::seconds(5));
  proto::GetActorStatsReply reply;
  (void)stub->GetActorStats(&context, proto::GetActorStatsRequest(), &reply);
  for (const auto& stats : reply.actors()) {
    if (stats.actor_id() == actor.actor_id()) return stats;
  }
  return {};
}

proto::WorkerInfo TestCluster::FindWorker(const std::string& worker_id) const {
  const proto::ListNodesReply nodes = ListNodes();
  for (const auto& node : nodes.nodes()) {
    if (node.state() != proto::NODE_ALIVE) continue;
    grpc::ClientContext context;
    SetTimeout(context, std::chrono::seconds(5));
    proto::ListWorkersReply workers;
    if (!NodeManager(node.address())->ListWorkers(&context, {}, &workers).ok()) continue;
    for (const auto& worker : workers.workers()) {
      if (worker.worker_id() == worker_id) return worker;
    }
  }
  return {};
}

std::optional<std::string> TestCluster::AliveNodeOf(pid_t raylet_pid) const {
  const proto::ListNodesReply table = ListNodes();
  for (const auto& node : table.nodes()) {
    if (node.raylet_pid() == raylet_pid && node.state() == proto::NODE_ALIVE) {
      return node.node_id();
    }
  }
  return std::nullopt;
}

proto::NodeState TestCluster::NodeStateOf(const std::string& node_id) const {
  const proto::ListNodesReply table = ListNodes();
  for (const auto& node : table.nodes()) {
    if (node.node_id() == node_id) return node.state();
  }
  return proto::NODE_STATE_UNSPECIFIED;
}

namespace {
grpc::Status AskActor(const std::string& head_address, const std::string& token,
                      const std::string& actor_id, proto::GetActorReply& reply) {
  auto stub = proto::ActorDirectory::NewStub(MakeChannel(head_address, token));
  grpc::ClientContext context;
  SetTimeout(context, std::chrono::seconds(5));
  proto::GetActorRequest request;
  request.set_actor_id(actor_id);
  return stub->GetActor(&context, request, &reply);
}
}  // namespace

proto::ActorInfo TestCluster::GetActor(const std::string& actor_id) const {
  proto::GetActorReply reply;
  const grpc::Status status = AskActor(head_address_, token_, actor_id, reply);
  EXPECT_TRUE(status.ok()) << "actor " << actor_id << ": " << status.error_message();
  return reply.actor();
}

bool TestCluster::HasActor(const std::string& actor_id) const {
  proto::GetActorReply reply;
  return AskActor(head_address_, token_, actor_id, reply).ok();
}

namespace {
double SumCpus(const proto::ListNodesReply& nodes, bool available) {
  double sum = 0;
  for (const auto& node : nodes.nodes()) {
    if (node.state() != proto::NODE_ALIVE) continue;
    const auto& resources = available ? node.available() : node.total();
    if (auto it = resources.find("CPU"); it != resources.end()) sum += it->second;
  }
  return sum;
}
}  // namespace

double TestCluster::FreeCpus() const { return SumCpus(ListNodes(), /*available=*/true); }
double TestCluster::TotalCpus() const { return SumCpus(ListNodes(), /*available=*/false); }

grpc::Status TestCluster::Lease(const std::map<std::string, double>& required,
                                proto::LeaseWorkerReply* reply) const {
  proto::LeaseWorkerRequest request;
  request.set_job_id("job-test");
  request.mutable_required()->insert(required.begin(), required.end());
  grpc::ClientContext context;
  SetTimeout(context, std::chrono::seconds(30));
  return Scheduler()->LeaseWorker(&context, request, reply);
}

std::unique_ptr<proto::Scheduler::Stub> TestCluster::Scheduler() const {
  return proto::Scheduler::NewStub(MakeChannel(head_address_, token_));
}

std::unique_ptr<proto::NodeManager::Stub> TestCluster::NodeManager(
    const std::string& address) const {
  return proto::NodeManager::NewStub(MakeChannel(address, token_));
}

CommandResult TestCluster::StopSession(const std::string& session_dir) {
  return Weft({"stop", "--session-dir", session_dir});
}

}  // namespace weft::testing
