#pragma once

#include <CLI/CLI.hpp>
#include <functional>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "cli/head_query.h"

namespace weft::cli {

// Thrown out of a subcommand's callback when it fails; main() prints it and exits 1.
class CommandFailed : public std::runtime_error {
 public:
  explicit CommandFailed(const absl::Status& status)
      : std::runtime_error(std::string(status.message())) {}
};

// Thrown to end a command that printed its outcome with this exit status (`weft job submit`
// exits as its driver did).
struct ExitWith {
  int code;
};

// Makes `command` run `run(options)` when chosen, turning a failed status into CommandFailed.
template <typename Options>
void OnRun(CLI::App* command, std::shared_ptr<Options> options,
           absl::Status (*run)(const Options&)) {
  command->callback([options, run] {
    if (auto status = run(*options); !status.ok()) throw CommandFailed(status);
  });
}

// --address, --session-dir and --token-file of the commands that query a running cluster.
void AddClusterFlags(CLI::App* command, ClusterFlags& flags);

// --format table|json (default: what `format` holds); `help` is the flag's help text.
void AddFormatFlag(CLI::App* command, std::string& format,
                   const std::string& help = "table or json");

void AddStartCommand(CLI::App& app);
void AddStopCommand(CLI::App& app);
void AddStatusCommand(CLI::App& app);
void AddListCommand(CLI::App& app);
void AddGetCommand(CLI::App& app);
void AddKillCommand(CLI::App& app);
void AddLogsCommand(CLI::App& app);
void AddMemoryCommand(CLI::App& app);
void AddTokenCommand(CLI::App& app);
void AddCertificateCommand(CLI::App& app);
void AddTimelineCommand(CLI::App& app);
void AddJobCommand(CLI::App& app);

// Prints every job (`weft list jobs`, `weft job list`) as a table or JSON.
absl::Status PrintJobs(const ClusterFlags& cluster, const std::string& format);

// Subcommands of `weft list`.
void AddListActorsCommand(CLI::App& list);
void AddListObjectsCommand(CLI::App& list);
void AddListJobsCommand(CLI::App& list);

}  // namespace weft::cli
