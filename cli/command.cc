#include "cli/command.h"

namespace weft::cli {

void AddClusterFlags(CLI::App* command, ClusterFlags& flags) {
  command->add_option("--address", flags.address,
                      "Head host:port (default: the session's head, or $WEFT_ADDRESS)");
  command->add_option("--session-dir", flags.session_dir,
                      "Session whose head and token to use ($WEFT_SESSION_DIR)");
}

}  // namespace weft::cli
