#include "common/logging.h"

#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <cstdlib>

namespace weft {

void InitLogging(const std::string& component, const std::string& file) {
  auto logger = spdlog::get(component);
  if (!logger && !file.empty()) {
    try {
      logger = spdlog::basic_logger_mt(component, file);
    } catch (const spdlog::spdlog_ex&) {
      // Unwritable file: fall back to stderr below.
    }
  }
  if (!logger) logger = spdlog::stderr_logger_mt(component);
  logger->set_pattern("[%Y-%m-%d %H:%M:%S.%e] [%n] [%l] [pid %P] %v");
  const char* level = std::getenv("WEFT_LOG_LEVEL");
  const auto parsed = level ? spdlog::level::from_str(level) : spdlog::level::info;
  // from_str answers "off" for words it does not know; only an explicit "off" means off.
  const bool unknown = level && parsed == spdlog::level::off && std::string(level) != "off";
  logger->set_level(unknown ? spdlog::level::info : parsed);
  if (unknown) logger->warn("unknown WEFT_LOG_LEVEL={}, using info", level);
  logger->flush_on(spdlog::level::info);
  spdlog::set_default_logger(logger);
}

}  // namespace weft
