#pragma once

// Cancelling calls, as Ray's ray.cancel: weft::Cancel(ref) stops the call or task that makes
// `ref`, wherever it is.
//  - Not started yet (waiting for its arguments, for its actor, in a queue at the worker): it
//    never starts, and Get throws weft::TaskCancelledError at once.
//  - A running coroutine (async actor): resumed with weft::CancelledError at the co_await it is
//    suspended at (or its next one): its frames unwind, their destructors run.
//  - A running plain method or task: it goes on, and sees weft::CancelRequested() turn true;
//    it may end early (throwing weft::CancelledError) or finish normally. With `force`, a
//    task's worker process is killed instead.
//  - Finished: nothing happens (kAlreadyFinished).

#include <string>

#include "weft/object_ref.h"

namespace weft {

struct CancelOptions {
  // Tasks only: kill the worker process that runs the task. Its other tasks fail as after a
  // crash (and run again where they have retries). Refused for actor calls (INVALID_ARGUMENT),
  // as in Ray: killing the worker would kill the actor.
  bool force = false;
  // Also cancel the calls and tasks the cancelled call submitted while it ran (and theirs), as
  // Ray's default does.
  bool recursive = true;
};

enum class CancelOutcome {
  kAlreadyFinished,  // the call had its result (value or error): nothing was done
  kDropped,          // it had not left this process: it never runs, Get throws at once
  kRequested,        // sent to the worker that has it; Get tells how it ended
};

namespace internal {
// Cancels the call whose result is object `id` (client/src/cancel_api.cc). An object that has
// its value (a Put, a finished call) gives kAlreadyFinished. Throws weft::Error
// INVALID_ARGUMENT for a pending reference this process did not make (passed in: only its
// owner can cancel the call), or `force` asked for an actor call.
CancelOutcome CancelCall(const std::string& id, const CancelOptions& options);
}  // namespace internal

// Cancels the call or task whose result `ref` is; see the top of this header.
template <class T>
CancelOutcome Cancel(const ObjectRef<T>& ref, const CancelOptions& options = {}) {
  return internal::CancelCall(ref.id(), options);
}

// In a call: whether its caller has cancelled it. A plain method or a task polls it to end
// early; false outside calls (e.g. in a driver).
bool CancelRequested();

}  // namespace weft
