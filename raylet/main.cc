// weft-raylet: the daemon of every node; with --head also the cluster's head services.
// Usually started by `weft start`, which passes --ready-fd to learn when it serves.

#include <fcntl.h>
#include <unistd.h>

#include <csignal>
#include <cstdint>
#include <cstring>

#include "common/logging.h"
#include "common/process.h"
#include "common/rpc.h"
#include "raylet/node/driver_guard.h"
#include "raylet/raylet.h"
#include "raylet/raylet_flags.h"

int main(int argc, char** argv) {
  // A submitted driver's guard (the node spawns this binary for it): nothing of the daemon.
  if (argc > 1 && std::strcmp(argv[1], weft::kGuardDriverFlag) == 0) {
    return weft::RunDriverGuard(argc, argv);
  }
  weft::TurnOffMutexDeadlockDetection();  // before the first lock
  CLI::App app{"weft-raylet: the Weft node daemon (head services with --head)"};
  weft::RayletFlags flags;
  weft::AddRayletFlags(app, flags);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // Usage errors exit 2, as those MakeRayletOptions finds (help 0), whatever CLI11's code.
    return app.exit(e) == 0 ? 0 : 2;
  }
  weft::InitLogging(flags.head ? "head" : "node");
  weft::PinCallbackQueue();
  // A connection per peer: never the 1,024 a shell or systemd starts us with (issue 13).
  const uint64_t files = weft::RaiseOpenFileLimit();
  if (files < 4096)
    spdlog::warn("open-file limit is {}: raise the hard limit (LimitNOFILE)", files);
  // Only this process may hold the ready pipe, not the workers it spawns.
  if (flags.ready_fd >= 0) fcntl(flags.ready_fd, F_SETFD, FD_CLOEXEC);
  // Lead a process group of our own: workers join it, and `weft stop` can end them all.
  if (getpgrp() != getpid() && setpgid(0, 0) != 0) {
    spdlog::warn("cannot lead a process group; weft stop will find workers by their raylet only");
  }
  // Out of the terminal's foreground group (weft start --block), writing logs must not stop us.
  signal(SIGTTOU, SIG_IGN);

  auto options = weft::MakeRayletOptions(flags);
  if (!options.ok()) {
    spdlog::error("{}", options.status().message());
    return 2;
  }
  const auto status = weft::Raylet(*std::move(options)).Run();
  if (!status.ok()) {
    spdlog::error("raylet exiting: {}", status.ToString());
    return 1;
  }
  return 0;
}
