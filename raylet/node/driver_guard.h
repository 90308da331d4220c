#pragma once

#include <string>
#include <vector>

namespace weft {

// A submitted job's driver runs under a guard: `weft-raylet --guard-driver <fd> -- <argv...>`,
// the process its node spawns, counts and signals in the driver's place. The guard holds the
// read end of the node's lifeline pipe, as workers do, and starts the driver as its child:
//   - the raylet gone, however it went (its lifeline reads EOF): the driver is SIGKILLed and
//     the guard exits, as a worker does; a driver must not run on unwatched, beyond the reach
//     of `weft job stop`, once the head has failed its job;
//   - SIGTERM, SIGINT, SIGHUP: passed on to the driver (a stop);
//   - the guard killed (a stop's SIGKILL): the driver gets SIGKILL too (PR_SET_PDEATHSIG; the
//     guard has one thread, so its death is the thread's);
//   - the driver ended: the guard ends the same way (its exit code, or the same signal), so the
//     node reports the driver's own ending.
// Drivers are any executable, not necessarily one linked with Weft, so the guard cannot be
// inside them.
inline constexpr char kGuardDriverFlag[] = "--guard-driver";

// The driver's loader variables (LD_LIBRARY_PATH to its job's libraries, an LD_PRELOAD of
// --env, ...) reach the guard under this prefix, and the guard gives them their names back in
// the driver only: weft-raylet itself must load the node's own libraries, not the copies of
// gRPC or Protobuf a job may ship.
inline constexpr char kGuardedEnvPrefix[] = "WEFT_GUARDED_";

// `env` ("NAME=value" entries) for a guard: every LD_* entry renamed with kGuardedEnvPrefix.
std::vector<std::string> GuardedEnv(std::vector<std::string> env);

// The command line that runs `driver_argv` under the guard `guard` (weft-raylet's path), the
// lifeline being at `lifeline_fd` in the guard.
std::vector<std::string> GuardedDriverArgv(const std::string& guard, int lifeline_fd,
                                           const std::vector<std::string>& driver_argv);

// Runs the guard from weft-raylet's main when argv[1] is kGuardDriverFlag; returns only when it
// cannot start the driver (the code to exit with).
int RunDriverGuard(int argc, char** argv);

}  // namespace weft
