#pragma once

#include "head.pb.h"

namespace weft {

// Whether a job in this state has ended (a PENDING one has not started yet).
inline bool JobEnded(proto::JobState state) {
  return state != proto::JOB_RUNNING && state != proto::JOB_PENDING;
}

// Whether how a submitted job's driver ended is known: SUCCEEDED, STOPPED, or FAILED with its
// exit code or signal (-1: it never ran, or its node died). A FAILED of its keepalive alone
// (the driver's stream broke, exit code 0) gives way to the exit report that follows.
inline bool DriverEndKnown(const proto::JobInfo& job) {
  return job.state() == proto::JOB_SUCCEEDED || job.state() == proto::JOB_STOPPED ||
         (job.state() == proto::JOB_FAILED && (job.exit_code() != 0 || job.exit_signal() != 0));
}

}  // namespace weft
