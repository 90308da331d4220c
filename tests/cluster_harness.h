#pragma once

// Helpers for multi-process tests: run the real `weft` CLI and daemons on 127.0.0.1 with
// port 0 in throw-away session dirs, wait on conditions with deadlines, and clean up every
// process that was started.

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "head.grpc.pb.h"
#include "node.grpc.pb.h"
#include "worker.grpc.pb.h"

namespace weft::testing {

// Path of a built executable (weft, weft-raylet, weft-worker, quickstart).
std::string BinPath(const std::string& name);

struct CommandResult {
  int exit_code = -1;  // -1 when killed for running past its timeout
  std::string out;
  std::string err;
};

// Runs a command to completion (killing it after `timeout`), capturing stdout and stderr.
CommandResult Run(std::vector<std::string> argv,
                  std::chrono::milliseconds timeout = std::chrono::seconds(60),
                  const std::vector<std::string>& extra_env = {});

// Runs `weft <args...>`.
CommandResult Weft(std::vector<std::string> args,
                   std::chrono::milliseconds timeout = std::chrono::seconds(60));

// The permission bits of file `path` (e.g. 0600); -1 when it cannot be read.
int ModeOf(const std::string& path);

// Polls `condition` every 20 ms until it holds or `timeout` passes; true if it held.
bool WaitFor(const std::function<bool()>& condition,
             std::chrono::milliseconds timeout = std::chrono::seconds(10));

// A memory figure of process `pid` from /proc/<pid>/status, in bytes: "VmRSS" (resident),
// "RssAnon" (its own memory, not mapped files or shared memory). -1 when the process is gone.
int64_t ProcessMemory(int pid, const std::string& figure);

// A fresh folder under /tmp, removed (with its contents) on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  const std::string& path() const { return path_; }
  std::string Sub(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

// SIGSTOPs a process; SIGCONTs it on Resume() or destruction, so that cleanup can stop it
// even when the test fails in between.
class Stopped {
 public:
  explicit Stopped(pid_t pid);
  ~Stopped() { Resume(); }
  Stopped(const Stopped&) = delete;
  Stopped& operator=(const Stopped&) = delete;
  bool ok() const { return pid_ > 0; }  // the SIGSTOP was delivered
  void Resume();

 private:
  pid_t pid_;
};

// pids recorded as running raylets in a session dir.
std::vector<pid_t> RayletPids(const std::string& session_dir);

// The node's total of resource `name`; -1 when it has none.
double ResourceTotal(const proto::NodeInfo& node, const std::string& name);

// A cluster for one test: a head in its own session dir, plus nodes that join it, each in
// a session dir of its own. The destructor stops every session it started (weft stop),
// then SIGKILLs anything of theirs still running.
class TestCluster {
 public:
  // Starts `weft start --head --port 0 --num-cpus <num_cpus> <extra...>` (and --dashboard-port 0
  // unless `extra` names one); fails the test if it does not start.
  explicit TestCluster(double num_cpus = 2, std::vector<std::string> extra = {});
  ~TestCluster();

  const std::string& head_address() const { return head_address_; }
  const std::string& head_session() const { return head_session_; }
  std::string token_file() const { return head_session_ + "/token"; }
  const std::string& token() const { return token_; }

  // Joins a node with its own session dir; returns that dir ("" and a test failure if the
  // start failed). `extra` adds flags such as --num-cpus or --resources; `wrapper` runs
  // `weft start` through a command, e.g. {"ip", "netns", "exec", "ns1"} to start the node in
  // another network namespace.
  std::string JoinNode(std::vector<std::string> extra = {}, std::vector<std::string> wrapper = {});

  // The head's node table; empty when the head cannot be reached.
  proto::ListNodesReply ListNodes() const;
  // How many nodes the head has ALIVE now (0 when it cannot be reached).
  int AliveNodeCount() const;
  // The ALIVE node served by the raylet of pid `raylet_pid`, if any.
  std::optional<std::string> AliveNodeOf(pid_t raylet_pid) const;
  // The state of node `node_id` in the head's table; NODE_STATE_UNSPECIFIED if it is not there.
  proto::NodeState NodeStateOf(const std::string& node_id) const;
  // The head's record of actor `actor_id`; empty (and a test failure) if the head says no.
  proto::ActorInfo GetActor(const std::string& actor_id) const;
  // Whether the head has actor `actor_id` (a creation arrives after Remote() returns).
  bool HasActor(const std::string& actor_id) const;
  // The head's object directory (nothing when the head cannot be asked); ObjectCount is then -1.
  std::optional<proto::ListObjectsReply> ListObjects() const;
  int ObjectCount() const;
  // Running and queued calls of `actor`, asked of the worker that hosts it; empty when it does
  // not answer.
  proto::ActorStats StatsOf(const proto::ActorInfo& actor) const;
  // The worker `worker_id` as its node lists it (pid, state); empty when no node has it.
  proto::WorkerInfo FindWorker(const std::string& worker_id) const;
  // CPUs of the alive nodes: free right now, and in all.
  double FreeCpus() const;
  double TotalCpus() const;

  // Asks the head's scheduler for a worker holding `required` (e.g. {{"CPU", 1}}).
  grpc::Status Lease(const std::map<std::string, double>& required,
                     proto::LeaseWorkerReply* reply) const;

  // Stubs that carry the cluster token.
  std::unique_ptr<proto::Scheduler::Stub> Scheduler() const;
  std::unique_ptr<proto::NodeManager::Stub> NodeManager(const std::string& address) const;

  // The pid of the head's raylet, -1 when none runs.
  pid_t HeadPid() const;
  // Starts the head again (after it was killed) on its port (or, without `same_port`, a free
  // one: a second head beside the first), with the flags it was first started with plus
  // `extra`, on its session dir or on `session_dir` (a head on another machine taking over;
  // stopped with the others at the end); returns `weft start`'s result.
  CommandResult RestartHead(std::vector<std::string> extra = {},
                            const std::string& session_dir = "", bool same_port = true);

  // Stops the session with `weft stop`; returns the command's result.
  CommandResult StopSession(const std::string& session_dir);

 private:
  TempDir root_;
  std::string head_session_;
  std::string head_address_;
  std::vector<std::string> head_args_;  // `weft start` arguments of the head, port 0
  std::string token_;
  std::vector<std::string> sessions_;
  int next_node_ = 0;
};

}  // namespace weft::testing
