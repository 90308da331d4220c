#include "cli/command.h"

namespace weft::cli {

void AddClusterFlags(CLI::App* command, ClusterFlags& flags) {
  command->add_option("--address", flags.address,
                      "Head host:port (default: the session's head, or $WEFT_ADDRESS)");
  command->add_option("--session-dir", flags.session_dir,
                      "Session whose head and token to use ($WEFT_SESSION_DIR)");
  command->add_option("--token-file", flags.token_file,
                      "File holding the cluster token (default: the session's, or $WEFT_TOKEN)");
}

void AddFormatFlag(CLI::App* command, std::string& format, const std::string& help) {
  command->add_option("--format", format, help)
      ->check(CLI::IsMember({"table", "json"}))
      ->capture_default_str();
}

}  // namespace weft::cli
