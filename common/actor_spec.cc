#include "common/actor_spec.h"

#include "absl/strings/str_cat.h"
#include "common/resources.h"

namespace weft {

absl::Status CheckActorSpec(const proto::ActorSpec& spec) {
  if (spec.class_name().empty()) return absl::InvalidArgumentError("actor needs a class name");
  if (spec.job_id().empty()) return absl::InvalidArgumentError("actor needs a job id");
  if (spec.max_concurrency() < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("max_concurrency must be positive, got ", spec.max_concurrency()));
  }
  if (absl::Status invalid = ValidateResources(spec.resources()); !invalid.ok()) return invalid;
  if (spec.max_restarts() < -1 || spec.max_task_retries() < -1) {
    return absl::InvalidArgumentError(
        "max_restarts and max_task_retries must be -1 (no limit), 0 or more");
  }
  return absl::OkStatus();
}

}  // namespace weft
