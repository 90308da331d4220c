#pragma once

#include <string>

namespace weft {

struct InitOptions {
  // Head host:port. Empty: $WEFT_ADDRESS, else the session directory's running cluster, else
  // a local cluster started for this program (and stopped by Shutdown), like ray.init().
  // "local": always a new local cluster for this program, like ray.init("local").
  std::string address;
  std::string session_dir;     // empty: $WEFT_SESSION_DIR, else /tmp/weft-<uid>/default
  std::string ns;              // namespace for named actors; empty: "default"
  bool forward_output = true;  // print the job's worker output on this process's stdout
};

// Connects this process to a cluster and registers its job. Throws weft::Error. Calling it
// twice without Shutdown throws FAILED_PRECONDITION.
void Init(const InitOptions& options = {});

// Prints outstanding worker output, finishes the job (its non-detached actors end), and
// stops the local cluster Init started, if any. Idempotent.
void Shutdown();

bool IsInitialized();

}  // namespace weft
