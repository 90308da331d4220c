// weft-head-scale: what a real head costs for a thousand nodes and a hundred thousand actors.
//
// Starts a head of its own (`weft start --head --num-cpus 0`: no node of its own), joins
// simulated nodes to it (bench/head_scale/simulated_nodes.h: real gRPC, heartbeats at the
// head's period, no processes behind them), creates actors through the head as a driver does
// (ActorDirectory.CreateActors, 256 per call, one call in flight), then looks them up. Reports
// the head's CPU share at steady state, its resident bytes per node and per actor, and the
// latencies of GetActor, of a page of ListActors and of an actor's creation.
//
//   scripts/bench.sh --head-scale [--nodes N] [--actors N] [--json FILE]

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "bench/head_scale/simulated_nodes.h"
#include "common/ids.h"
#include "common/process.h"
#include "common/rpc.h"
#include "head.grpc.pb.h"

namespace weft::bench {
namespace {

using Clock = std::chrono::steady_clock;

// Actors created with a name (the first of them), looked up by name.
constexpr int kNamed = 1000;

struct Settings {
  int nodes = 1000;
  int actors = 100000;
  int lookups = 10000;       // GetActor calls timed
  double steady_s = 10;      // each CPU window
  int batch = 256;           // creations per CreateActors call, as a driver sends them
  std::string storage;       // the head's --storage; empty: its default (SQLite)
  std::string head_session;  // a running head's session dir; empty: start one
  double settle_s = 35;      // before the steady state: past kIdleWatchStream
  bool check = false;        // fail over the targets
  std::string json;
};

double Seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

// The resident bytes of process `pid`; -1 when it is gone.
int64_t ResidentBytes(int pid) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(status, line);) {
    if (line.rfind("VmRSS:", 0) == 0) return std::atoll(line.c_str() + 6) * 1024;
  }
  return -1;
}

// CPU seconds (user and system) process `pid` has used.
double CpuSeconds(int pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string text((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
  const size_t end = text.rfind(')');  // the command may hold spaces
  if (end == std::string::npos) return 0;
  std::istringstream fields(text.substr(end + 2));
  std::string field;
  double user = 0, system = 0;
  for (int i = 3; i <= 15 && fields >> field; ++i) {
    if (i == 14) user = std::atof(field.c_str());
    if (i == 15) system = std::atof(field.c_str());
  }
  return (user + system) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

// The head's share of one core over `seconds` (a window of measurement, not a wait for
// anything).
double CpuShare(int pid, double seconds) {
  const double before = CpuSeconds(pid);
  const auto start = Clock::now();
  std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
  return (CpuSeconds(pid) - before) / Seconds(Clock::now() - start);
}

struct Latencies {
  double p50_us = 0, p99_us = 0, max_us = 0;
  static Latencies Of(std::vector<double> us) {
    Latencies l;
    if (us.empty()) return l;
    std::sort(us.begin(), us.end());
    l.p50_us = us[us.size() / 2];
    l.p99_us = us[std::min(us.size() - 1, us.size() * 99 / 100)];
    l.max_us = us.back();
    return l;
  }
};

// A head of its own in a session under `root`, stopped when this goes; or, with `session`, the
// head already running there (started by hand, e.g. under a profiler), left running.
class Head {
 public:
  Head(const std::string& root, const std::string& storage, const std::string& session)
      : session_(session.empty() ? root + "/head" : session) {
    if (session.empty()) {
      weft_ = SiblingExecutable("weft");
      std::string command =
          absl::StrCat(weft_, " start --head --port 0 --num-cpus 0 --session-dir ", session_,
                       " --exit-with-pid ", getpid());
      if (!storage.empty()) absl::StrAppend(&command, " --storage ", storage);
      if (std::system((command + " >/dev/null").c_str()) != 0) return;
    }
    std::ifstream(session_ + "/head_address") >> address_;
    std::ifstream(session_ + "/token") >> token_;
    std::error_code ec;
    for (const auto& entry : std::filesystem::directory_iterator(session_ + "/raylets", ec)) {
      pid_ = std::atoi(entry.path().filename().c_str());
    }
  }
  ~Head() {
    if (!weft_.empty()) {
      std::system((weft_ + " stop --session-dir " + session_ + " >/dev/null 2>&1").c_str());
    }
  }
  bool ok() const { return !address_.empty() && !token_.empty() && pid_ > 0; }
  const std::string& address() const { return address_; }
  const std::string& token() const { return token_; }
  int pid() const { return pid_; }
  const std::string& session() const { return session_; }

 private:
  std::string weft_;
  std::string session_;
  std::string address_;
  std::string token_;
  int pid_ = 0;
};

template <class Call>
grpc::Status Timed(Call call, std::vector<double>& us) {
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
  const auto start = Clock::now();
  grpc::Status status = call(context);
  us.push_back(Seconds(Clock::now() - start) * 1e6);
  return status;
}

struct Report {
  std::vector<std::pair<std::string, std::string>> rows;  // name, value
  void Add(std::string name, std::string value) { rows.emplace_back(std::move(name), value); }
  void Print() const {
    for (const auto& [name, value] : rows) std::printf("%-44s %s\n", name.c_str(), value.c_str());
  }
  bool WriteJson(const std::string& path) const {
    std::ofstream out(path);
    out << "{\n";
    for (size_t i = 0; i < rows.size(); ++i) {
      out << "  \"" << rows[i].first << "\": \"" << rows[i].second << "\""
          << (i + 1 < rows.size() ? ",\n" : "\n");
    }
    out << "}\n";
    return static_cast<bool>(out);
  }
};

std::string Us(double us) { return absl::StrFormat("%.0f us", us); }
std::string Percent(double share) { return absl::StrFormat("%.1f%% of one core", share * 100); }

// How many actors `weft list actors --format json` prints for the head of `session`; -1 when
// it fails.
int64_t CliListedActors(const std::string& session) {
  const std::string command =
      absl::StrCat(SiblingExecutable("weft"), " list actors --format json --session-dir ", session);
  FILE* out = popen(command.c_str(), "r");
  if (!out) return -1;
  int64_t listed = 0;
  char line[4096];
  while (std::fgets(line, sizeof(line), out)) {
    for (const char* at = line; (at = std::strstr(at, "\"actor_id\"")); ++at) ++listed;
  }
  const int status = pclose(out);
  return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? listed : -1;
}

// How many actors the head lists as ALIVE, a page of 1,000 at a time.
absl::StatusOr<int64_t> CountAlive(proto::ActorDirectory::Stub& actors) {
  int64_t alive = 0;
  proto::ListActorsRequest list;
  list.set_page_size(1000);
  for (int pages = 0; pages < 100000; ++pages) {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
    proto::ListActorsReply reply;
    if (auto status = actors.ListActors(&context, list, &reply); !status.ok()) {
      return absl::UnavailableError(status.error_message());
    }
    for (const auto& actor : reply.actors()) alive += actor.state() == proto::ACTOR_ALIVE;
    if (reply.next_page_token().empty()) break;
    list.set_page_token(reply.next_page_token());
  }
  return alive;
}

// Measures `head` with `s.nodes` simulated nodes and `s.actors` actors; prints the report.
int Measure(const Head& head, const Settings& s) {
  Report report;
  report.Add("nodes", std::to_string(s.nodes));
  report.Add("actors", std::to_string(s.actors));
  report.Add("head storage", s.storage.empty() ? "sqlite (the default)" : s.storage);
  const int64_t empty_rss = ResidentBytes(head.pid());
  auto channel = MakeChannel(head.address(), head.token());
  auto node_directory = proto::NodeDirectory::NewStub(channel);
  auto actor_directory = proto::ActorDirectory::NewStub(channel);
  auto jobs = proto::JobRegistry::NewStub(channel);

  // The nodes join and heartbeat.
  SimulatedNodes nodes(head.address(), head.token(), s.nodes);
  const auto joining = Clock::now();
  if (auto started = nodes.Start(); !started.ok()) {
    std::fprintf(stderr, "weft-head-scale: %s\n", started.ToString().c_str());
    return 1;
  }
  report.Add("nodes registered in", absl::StrFormat("%.2f s", Seconds(Clock::now() - joining)));
  const double idle_share = CpuShare(head.pid(), s.steady_s);
  const int64_t nodes_rss = ResidentBytes(head.pid());
  report.Add("head CPU, nodes heartbeating, no actors", Percent(idle_share));
  report.Add("head resident bytes per node", std::to_string((nodes_rss - empty_rss) / s.nodes));

  // A job, and its actors created as a driver creates them.
  proto::RegisterJobRequest job_request;
  job_request.set_driver_host("localhost");
  job_request.set_driver_pid(getpid());
  job_request.set_entrypoint("weft-head-scale");
  proto::RegisterJobReply job;
  {
    grpc::ClientContext context;
    if (auto status = jobs->RegisterJob(&context, job_request, &job); !status.ok()) {
      std::fprintf(stderr, "weft-head-scale: RegisterJob: %s\n", status.error_message().c_str());
      return 1;
    }
  }
  std::vector<std::string> ids;
  ids.reserve(s.actors);
  absl::flat_hash_map<std::string, Clock::time_point> sent_at;
  std::vector<double> batch_us;
  const auto deadline = Clock::now() + std::chrono::minutes(10);
  // Creates actors until there are `count`, `s.batch` per call and one call in flight as a
  // driver sends them, then waits (bounded) until the nodes were asked to construct each and
  // the head lists every one ALIVE (the answers applied), as a driver's first calls wait for.
  // Returns what went wrong, or "".
  auto create_until = [&](int count) -> std::string {
    while (static_cast<int>(ids.size()) < count) {
      proto::CreateActorsRequest request;
      for (int i = static_cast<int>(ids.size());
           i < std::min(count, static_cast<int>(ids.size()) + s.batch); ++i) {
        proto::ActorSpec& spec = *request.add_creations()->mutable_spec();
        spec.set_actor_id(RandomHex(8));
        spec.set_class_name("Simulated");
        spec.set_job_id(job.job().job_id());
        spec.set_constructor_args(std::string("\x90", 1));  // msgpack: no arguments
        spec.set_namespace_("default");
        if (i < kNamed) spec.set_name(absl::StrCat("actor-", i));
      }
      for (const auto& creation : request.creations()) ids.push_back(creation.spec().actor_id());
      const auto now = Clock::now();
      for (const auto& creation : request.creations()) sent_at[creation.spec().actor_id()] = now;
      proto::CreateActorsReply reply;
      const auto status = Timed(
          [&](grpc::ClientContext& context) {
            return actor_directory->CreateActors(&context, request, &reply);
          },
          batch_us);
      if (!status.ok()) return "CreateActors: " + status.error_message();
      if (reply.answers_size() != request.creations_size()) {
        return absl::StrCat("CreateActors answered ", reply.answers_size(), " of ",
                            request.creations_size(), " creations");
      }
      for (const auto& answer : reply.answers()) {
        if (answer.code() != 0) return "CreateActors: " + answer.message();
      }
    }
    while (nodes.constructed() < count && Clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    if (nodes.constructed() < count) {
      return absl::StrCat(nodes.constructed(), " of ", count, " actors constructed in 10 minutes");
    }
    int64_t alive = 0;
    while (Clock::now() < deadline) {
      auto counted = CountAlive(*actor_directory);
      if (!counted.ok()) return "ListActors: " + counted.status().ToString();
      alive = *counted;
      if (alive >= count) return "";
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return absl::StrCat(alive, " of ", count, " actors ALIVE in 10 minutes");
  };
  // Half of them first: the bytes per actor are the growth over the second half, which what
  // the first actors brought once per node (a worker leased on each, its stream and channel)
  // does not count.
  const auto creating = Clock::now();
  std::string failed = create_until(s.actors / 2);
  const int64_t half_rss = ResidentBytes(head.pid());
  if (failed.empty()) failed = create_until(s.actors);
  if (!failed.empty()) {
    std::fprintf(stderr, "weft-head-scale: %s\n", failed.c_str());
    return 1;
  }
  const double creation_s = Seconds(Clock::now() - creating);
  const int64_t actors_rss = ResidentBytes(head.pid());
  report.Add("actors created (ALIVE) per second",
             absl::StrFormat("%.0f (%.2f s in all)", s.actors / creation_s, creation_s));
  std::vector<double> creation_us;
  creation_us.reserve(s.actors);
  for (const auto& [id, at] : nodes.ConstructedAt()) {
    if (auto sent = sent_at.find(id); sent != sent_at.end()) {
      creation_us.push_back(Seconds(at - sent->second) * 1e6);
    }
  }
  const auto creation = Latencies::Of(std::move(creation_us));
  report.Add("actor creation p50 (sent to constructed)", Us(creation.p50_us));
  report.Add("actor creation p99", Us(creation.p99_us));
  const auto batches = Latencies::Of(batch_us);
  report.Add("CreateActors call p50 (256 actors)", Us(batches.p50_us));
  report.Add("CreateActors call p99", Us(batches.p99_us));
  const int64_t per_actor = (actors_rss - half_rss) / (s.actors - s.actors / 2);
  report.Add("head resident bytes per actor", std::to_string(per_actor));

  // Steady state: the nodes heartbeat, the actors live, the head's construction streams have
  // closed (they do once idle for kIdleWatchStream; what is measured after that is what stays).
  std::this_thread::sleep_for(std::chrono::duration<double>(s.settle_s));
  const double steady_share = CpuShare(head.pid(), s.steady_s);
  report.Add("head CPU, steady state with the actors", Percent(steady_share));

  // Lookups by id, in random order.
  std::mt19937 random(42);
  std::vector<double> get_us;
  for (int i = 0; i < s.lookups; ++i) {
    proto::GetActorRequest request;
    request.set_actor_id(ids[random() % ids.size()]);
    proto::GetActorReply reply;
    const auto status = Timed(
        [&](grpc::ClientContext& context) {
          return actor_directory->GetActor(&context, request, &reply);
        },
        get_us);
    if (!status.ok() || reply.actor().state() != proto::ACTOR_ALIVE) {
      std::fprintf(stderr, "weft-head-scale: GetActor: %s\n",
                   status.ok() ? "not ALIVE" : status.error_message().c_str());
      return 1;
    }
  }
  const auto gets = Latencies::Of(get_us);
  report.Add("GetActor p50", Us(gets.p50_us));
  report.Add("GetActor p99", Us(gets.p99_us));

  // Lookups by name (`weft::GetActor<C>("name")`) among all the actors.
  std::vector<double> by_name_us;
  const int named = std::min(kNamed, s.actors);
  for (int i = 0; i < s.lookups; ++i) {
    proto::GetActorRequest request;
    request.set_namespace_("default");
    request.set_name(absl::StrCat("actor-", random() % named));
    proto::GetActorReply reply;
    const auto status = Timed(
        [&](grpc::ClientContext& context) {
          return actor_directory->GetActor(&context, request, &reply);
        },
        by_name_us);
    if (!status.ok() || reply.actor().name() != request.name()) {
      std::fprintf(stderr, "weft-head-scale: GetActor by name: %s\n",
                   status.ok() ? "another actor" : status.error_message().c_str());
      return 1;
    }
  }
  const auto by_name = Latencies::Of(by_name_us);
  report.Add("GetActor by name p50", Us(by_name.p50_us));
  report.Add("GetActor by name p99", Us(by_name.p99_us));

  // The whole list, a page of 1,000 at a time (as `weft list actors`).
  std::vector<double> page_us;
  int64_t listed = 0;
  proto::ListActorsRequest list;
  list.set_page_size(1000);
  const auto listing = Clock::now();
  do {
    proto::ListActorsReply reply;
    const auto status = Timed(
        [&](grpc::ClientContext& context) {
          return actor_directory->ListActors(&context, list, &reply);
        },
        page_us);
    if (!status.ok()) {
      std::fprintf(stderr, "weft-head-scale: ListActors: %s\n", status.error_message().c_str());
      return 1;
    }
    listed += reply.actors_size();
    list.set_page_token(reply.next_page_token());
  } while (!list.page_token().empty() && page_us.size() < 100000);
  const auto pages = Latencies::Of(page_us);
  report.Add("ListActors page of 1,000 p50", Us(pages.p50_us));
  report.Add("ListActors page of 1,000 p99", Us(pages.p99_us));
  report.Add("every actor listed in",
             absl::StrFormat("%.2f s (%lld actors, %zu pages)", Seconds(Clock::now() - listing),
                             static_cast<long long>(listed), page_us.size()));
  // The same through the CLI, as a user lists them: `weft list actors --format json`.
  const auto cli_start = Clock::now();
  const int64_t cli_listed = CliListedActors(head.session());
  if (cli_listed != s.actors) {
    std::fprintf(stderr, "weft-head-scale: weft list actors listed %lld of %d actors\n",
                 static_cast<long long>(cli_listed), s.actors);
    return 1;
  }
  report.Add("`weft list actors --format json` took",
             absl::StrFormat("%.2f s", Seconds(Clock::now() - cli_start)));
  report.Add("heartbeats failed", std::to_string(nodes.failed_heartbeats()));
  nodes.Stop();
  report.Print();
  if (nodes.failed_heartbeats() > 0) {
    std::fprintf(stderr, "weft-head-scale: the head failed %lld heartbeats\n",
                 static_cast<long long>(nodes.failed_heartbeats()));
    return 1;
  }
  // Issue 16's targets, checked when asked (a full run on a quiet machine, not CI).
  if (s.check && (per_actor > 2048 || steady_share >= 0.25)) {
    std::fprintf(stderr,
                 "weft-head-scale: over the targets (2,048 bytes per actor, 25%% of one core)\n");
    return 1;
  }
  if (!s.json.empty() && !report.WriteJson(s.json)) {
    std::fprintf(stderr, "weft-head-scale: cannot write %s\n", s.json.c_str());
    return 1;
  }
  if (listed < s.actors) {
    std::fprintf(stderr, "weft-head-scale: %lld of %d actors listed\n",
                 static_cast<long long>(listed), s.actors);
    return 1;
  }
  return 0;
}

int Run(const Settings& s) {
  RaiseOpenFileLimit();  // a socket per node, and one per connection the head makes to it
  char root[] = "/tmp/weft-head-scale-XXXXXX";
  if (!mkdtemp(root)) {
    std::fprintf(stderr, "weft-head-scale: cannot make %s: %s\n", root, strerror(errno));
    return 1;
  }
  int code = 1;
  {
    Head head(root, s.storage, s.head_session);
    if (head.ok()) {
      code = Measure(head, s);
    } else {
      std::fprintf(stderr,
                   "weft-head-scale: no head (it did not start, or --head-session names "
                   "no running head)\n");
    }
  }
  std::error_code ec;
  std::filesystem::remove_all(root, ec);
  return code;
}

}  // namespace
}  // namespace weft::bench

int main(int argc, char** argv) {
  CLI::App app{"weft-head-scale: a real head's cost for many simulated nodes and actors"};
  weft::bench::Settings s;
  bool quick = false;
  app.add_option("--nodes", s.nodes, "simulated nodes")->check(CLI::Range(1, 5000));
  app.add_option("--actors", s.actors, "actors created")->check(CLI::Range(1, 10000000));
  app.add_option("--lookups", s.lookups, "GetActor calls timed")->check(CLI::Range(1, 10000000));
  app.add_option("--steady-seconds", s.steady_s, "each window the head's CPU is measured over")
      ->check(CLI::Range(0.1, 600.0));
  app.add_option("--storage", s.storage, "the head's --storage (default: its own, SQLite)");
  app.add_option("--head-session", s.head_session,
                 "measure the head already running in this session dir (e.g. under a profiler)");
  app.add_flag("--check", s.check,
               "fail when over issue 16's targets (2,048 bytes per actor, 25% of one core)");
  app.add_option("--json", s.json, "also write the results to this file as JSON");
  app.add_flag("--quick", quick, "20 nodes, 1,000 actors: checks that everything runs");
  CLI11_PARSE(app, argc, argv);
  if (quick) {
    s.nodes = std::min(s.nodes, 20);
    s.actors = std::min(s.actors, 1000);
    s.lookups = std::min(s.lookups, 200);
    s.steady_s = std::min(s.steady_s, 1.0);
    s.settle_s = 0;
  }
  return weft::bench::Run(s);
}
