// weft::Cancel (weft/cancel.h): the call is this process's actor call or task.

#include "absl/strings/str_cat.h"
#include "client/src/actor_calls.h"
#include "client/src/runtime.h"
#include "client/src/task_calls.h"
#include "weft/cancel.h"
#include "weft/error.h"

namespace weft::internal {

CancelOutcome CancelCall(const std::string& id, const CancelOptions& options) {
  Runtime& runtime = Runtime::Get();
  // A value, an error or a location (a large result stored by its worker): it has ended.
  if (runtime.objects().Resolved(id)) return CancelOutcome::kAlreadyFinished;
  if (auto outcome = runtime.actors().Cancel(id, options)) return *outcome;
  if (auto outcome = runtime.tasks().Cancel(id, options)) return *outcome;
  if (runtime.objects().Resolved(id)) return CancelOutcome::kAlreadyFinished;  // just now
  // Its answer is on its way into the object table (the call is no longer tracked as sent).
  if (runtime.objects().OwnedPending(id)) return CancelOutcome::kRequested;
  throw Error(static_cast<int>(ErrorCode::kInvalidArgument),
              absl::StrCat("weft::Cancel: object ", id,
                           " is not the result of a call this process made: only the process "
                           "that made the call can cancel it"));
}

}  // namespace weft::internal
