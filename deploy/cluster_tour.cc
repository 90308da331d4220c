// weft-cluster-tour: a driver that checks a cluster of several machines end to end. It creates
// runs a task, then creates one actor per CPU of the cluster's nodes (each in a worker process
// of its own, holding a CPU), asks each for the host it runs on, has each return a value too
// large to come back inline (so the driver fetches it from the worker's store, on that host),
// and prints what it saw:
//
//   connected to weft-head:7070
//   node 5e0c... at 10.89.7.11:7071 (host weft-node-1): CPU=1
//   actor 1 on host weft-node-1 (pid 41): 204800 bytes fetched
//   ...
//   tour passed: 4 actors on 2 hosts (weft-node-1 weft-node-2), task answered 42
//
//   weft-cluster-tour [--min-hosts N]   exits 1 unless the actors ran on at least N hosts
//
// Its code travels with the job (README "Code that travels"): the nodes need none of its files.

#include <unistd.h>
#include <weft/weft.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <set>
#include <string>
#include <vector>

class Where {
 public:
  std::string Host() const {
    char name[256] = {};
    gethostname(name, sizeof(name) - 1);
    return std::string(name) + " (pid " + std::to_string(getpid()) + ")";
  }
  // Twice the 100 KiB inline limit: stored by the worker, fetched from it by the caller.
  std::string Payload(int bytes) const { return std::string(bytes, 'w'); }
};

static const auto kWhere = weft::ActorClass<Where>("Where")
                               .Constructor<>()
                               .Method("Host", &Where::Host)
                               .Method("Payload", &Where::Payload);

int Answer(int x) { return 2 * x; }
static const bool kAnswer = weft::RemoteFunction("Answer", &Answer);

namespace {

// The CPUs of the cluster's alive nodes, listed.
double ClusterCpus() {
  weft::Cluster cluster = weft::Cluster::Connect();
  std::printf("connected to %s\n", cluster.head_address().c_str());
  double cpus = 0;
  for (const auto& node : cluster.Nodes()) {
    if (!node.alive) continue;
    std::printf("node %s at %s (host %s): CPU=%g\n", node.node_id.c_str(), node.address.c_str(),
                node.hostname.c_str(), node.total.at("CPU"));
    cpus += node.total.at("CPU");
  }
  return cpus;
}

int Run(int min_hosts, double cpus) {
  // The task first: it takes a CPU, which the actors then hold.
  const int answer = weft::Task(&Answer).Remote(21).Get(std::chrono::seconds(60));
  const int count = cpus >= 1 ? static_cast<int>(cpus) : 1;
  std::vector<weft::ActorHandle<Where>> actors;
  for (int i = 0; i < count; ++i) actors.push_back(weft::Actor<Where>({.num_cpus = 1}).Remote());
  std::set<std::string> hosts;
  constexpr int kPayload = 200 * 1024;
  for (int i = 0; i < count; ++i) {
    const std::string where = actors[i].Call(&Where::Host).Get(std::chrono::seconds(60));
    const std::string payload =
        actors[i].Call(&Where::Payload, kPayload).Get(std::chrono::seconds(60));
    if (payload.size() != kPayload) {
      std::fprintf(stderr, "actor %d returned %zu bytes, not %d\n", i + 1, payload.size(),
                   kPayload);
      return 1;
    }
    std::printf("actor %d on host %s: %zu bytes fetched\n", i + 1, where.c_str(), payload.size());
    hosts.insert(where.substr(0, where.find(' ')));
  }
  std::string names;
  for (const auto& host : hosts) names += (names.empty() ? "" : " ") + host;
  const bool passed = static_cast<int>(hosts.size()) >= min_hosts && answer == 42;
  std::printf("tour %s: %d actors on %zu hosts (%s), task answered %d\n",
              passed ? "passed" : "FAILED", count, hosts.size(), names.c_str(), answer);
  return passed ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  std::setvbuf(stdout, nullptr, _IOLBF, 0);  // lines in order with the workers' and errors
  int min_hosts = 1;
  if (argc == 3 && std::strcmp(argv[1], "--min-hosts") == 0) {
    min_hosts = std::atoi(argv[2]);
  } else if (argc != 1) {
    std::fprintf(stderr, "usage: weft-cluster-tour [--min-hosts N]\n");
    return 2;
  }
  try {
    const double cpus = ClusterCpus();
    weft::Init();
    const int code = Run(min_hosts, cpus);
    weft::Shutdown();
    return code;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "weft-cluster-tour: %s\n", e.what());
    return 1;
  }
}
