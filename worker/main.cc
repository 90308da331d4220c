// weft-worker: a worker process, spawned by its node's weft-raylet (never by hand).

#include <malloc.h>

#include <CLI/CLI.hpp>
#include <cstdlib>
#include <iostream>

#include "common/auth.h"
#include "common/cluster_tls.h"
#include "common/logging.h"
#include "common/process.h"
#include "common/rpc.h"
#include "worker/output_tag.h"
#include "worker/worker_process.h"

int main(int argc, char** argv) {
  weft::TurnOffMutexDeadlockDetection();  // before the first lock
  // Results and object chunks of up to 32 MiB come from the heap and their memory is kept
  // for the next ones, instead of a fresh mapping (and its page faults) for every object.
  mallopt(M_MMAP_THRESHOLD, 32 << 20);
  mallopt(M_TRIM_THRESHOLD, 256 << 20);
  CLI::App app{"weft-worker: hosts actors and tasks; started by weft-raylet"};
  weft::worker::WorkerProcess::Options options;
  app.add_option("--worker-id", options.worker_id)->required();
  app.add_option("--node-id", options.node_id)->required();
  app.add_option("--node-address", options.node_address)->required();
  app.add_option("--head-address", options.head_address)->required();
  app.add_option("--host", options.host);
  app.add_option("--advertise-host", options.advertise_host,
                 "Where others reach this worker (default: --host, or for a wildcard this "
                 "machine's first address)");
  app.add_option("--job-id", options.job_id, "The job whose actors and tasks this worker runs");
  std::string log_file;
  app.add_option("--log-file", log_file, "Where the worker's own log goes (default stderr)");
  app.add_option("--lifeline-fd", options.lifeline_fd, "Read end of the raylet's lifeline pipe")
      ->required();
  int fence_after_ms = 0;
  app.add_option("--fence-after-ms", fence_after_ms,
                 "Exit when the raylet has not answered a liveness check for this long (0: never)");
  app.add_option("--object-store-dir", options.object_store_dir,
                 "The node's object store folder (its budget and spill files)");
  CLI11_PARSE(app, argc, argv);
  options.fence_after = absl::Milliseconds(fence_after_ms);
  weft::worker::InstallOutputTags();  // before any thread prints
  weft::InitLogging("worker", log_file);
  weft::PinCallbackQueue();
  weft::RaiseOpenFileLimit();  // a connection per caller and per peer it fetches from
  const char* token = std::getenv("WEFT_TOKEN");
  if (!token || !*token) {
    spdlog::error("WEFT_TOKEN is not set; workers are started by weft-raylet");
    return 2;
  }
  options.token = token;
  if (auto valid = weft::CheckToken(options.token, "$WEFT_TOKEN"); !valid.ok()) {
    spdlog::error("{}", valid.message());
    return 2;
  }
  // A rotation of the token under way when the node started this worker (weft token rotate).
  if (const char* rotation = std::getenv("WEFT_TOKEN_ROTATION"); rotation && *rotation) {
    if (auto adopted = weft::AdoptTokenRotationEnv(options.token, rotation); !adopted.ok()) {
      spdlog::error("{}", adopted.message());
      return 2;
    }
  }
  // The node's certificate and the cluster CA: every connection of this worker uses TLS.
  if (const char* tls = std::getenv("WEFT_TLS_DIR"); tls && *tls) {
    auto security = weft::ReadTlsFiles(tls);
    if (!security.ok()) {
      spdlog::error("cannot read the node's TLS files: {}", security.status().message());
      return 2;
    }
    // Under mutual TLS the node says so: this worker's server then asks for certificates too.
    const char* mutual = std::getenv("WEFT_TLS_MUTUAL");
    security->mutual = mutual && std::string(mutual) == "1";
    weft::SetTransportSecurity(*std::move(security));
  }
  // Test hook: a line of "user" output printed before the worker registers, so it is in the
  // node's pipe by the time anyone leases this worker.
  if (const char* banner = std::getenv("WEFT_WORKER_BANNER"); banner && *banner) {
    weft::worker::ScopedOutputTag tag("Banner");
    std::cout << banner << std::endl;
  }
  return weft::worker::WorkerProcess(std::move(options)).Run();
}
