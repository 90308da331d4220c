// weft: start, stop and inspect Weft clusters.

#include "common/logging.h"

#include <CLI/CLI.hpp>
#include <iostream>

#include "cli/command.h"

int main(int argc, char** argv) {
  weft::InitLogging("cli");
  CLI::App app{"weft: start, stop and inspect Weft clusters"};
  app.require_subcommand(1);
  weft::cli::AddStartCommand(app);
  weft::cli::AddStopCommand(app);
  weft::cli::AddStatusCommand(app);
  weft::cli::AddListCommand(app);
  weft::cli::AddGetCommand(app);
  weft::cli::AddKillCommand(app);
  weft::cli::AddLogsCommand(app);
  weft::cli::AddMemoryCommand(app);
  weft::cli::AddTokenCommand(app);
  weft::cli::AddCertificateCommand(app);
  weft::cli::AddTimelineCommand(app);
  weft::cli::AddJobCommand(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // Usage errors exit 2 (help and --version 0), whatever CLI11's own code for them.
    return app.exit(e) == 0 ? 0 : 2;
  } catch (const weft::cli::CommandFailed& e) {
    std::cerr << "weft: " << e.what() << "\n";
    return 1;
  } catch (const weft::cli::ExitWith& e) {
    return e.code;
  }
  return 0;
}
