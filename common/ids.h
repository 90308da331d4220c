#pragma once

#include <string>

namespace weft {

// Returns `num_bytes` of randomness as lowercase hex (2 * num_bytes characters).
// Thread-safe. Used for node, worker, job and actor ids, and for cluster tokens.
std::string RandomHex(int num_bytes);

// Ids are short hex strings; every process start draws new ones.
inline std::string NewNodeId() { return RandomHex(8); }
inline std::string NewWorkerId() { return RandomHex(8); }
// The node's name for a submitted job's driver process (WorkerInfo.driver).
inline std::string DriverWorkerId(const std::string& job_id) { return "driver-" + job_id; }

}  // namespace weft
