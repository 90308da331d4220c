#pragma once

#include <string>
#include <vector>

#include "common.pb.h"
#include "worker.pb.h"

namespace weft::cli {

// The calls one worker answered (Worker.GetCallEvents), with where it runs.
struct WorkerCalls {
  proto::NodeInfo node;
  proto::WorkerInfo worker;
  proto::GetCallEventsReply calls;
};

// `weft timeline`'s trace: the Chrome trace event format (JSON) that chrome://tracing and
// Perfetto read, as `ray timeline` writes it. A process per node ("node <id> <address>"), a
// row per worker, and one complete event ("ph": "X") per call or task named Class.method (a
// task: its function), from its start to its answer (a call that never ran: from its arrival),
// with its actor, worker, time queued in microseconds and whether it failed in "args".
// Calls that overlap on one worker (a threaded or async actor) go to rows of their own
// ("worker <pid> #2", ...), as the format nests events of one row. Times are microseconds
// from the earliest call; "otherData" has that moment (start_unix_us) and the calls the
// workers no longer kept (dropped).
std::string RenderTimeline(const std::vector<WorkerCalls>& workers);

}  // namespace weft::cli
