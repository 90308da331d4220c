// The quickstart driver: connects to a running cluster, shows its nodes, and has the cluster
// start a worker process that echoes data back, straight to this driver.
//
//   weft start --head && ./build/bin/quickstart && weft stop

#include <weft/weft.h>

#include <cstdio>
#include <exception>

int main() {
  try {
    weft::Cluster cluster = weft::Cluster::Connect();
    std::printf("connected to %s as %s\n", cluster.head_address().c_str(),
                cluster.job_id().c_str());
    for (const auto& node : cluster.Nodes()) {
      std::printf("node %s %s %s CPU=%g workers=%d\n", node.node_id.c_str(), node.address.c_str(),
                  node.alive ? "ALIVE" : "DEAD", node.total.at("CPU"), node.num_workers);
    }
    const auto probe = cluster.ProbeWorker(1 << 20);
    std::printf("worker %s (pid %d on node %s) echoed %zu bytes in %lld us\n",
                probe.worker_id.c_str(), probe.pid, probe.node_id.c_str(), probe.bytes_echoed,
                static_cast<long long>(probe.round_trip.count()));
    return 0;
  } catch (const weft::Error& e) {
    std::fprintf(stderr, "quickstart: %s\n", e.what());
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "quickstart: %s\n", e.what());
    return 1;
  }
}
