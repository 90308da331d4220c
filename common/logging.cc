#include <spdlog/spdlog.h>

#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <cstdlib>

namespace weft {

void InitLogging(const std::string& component) {
  auto logger = spdlog::get(component);
  if (!logger) logger = spdlog::stderr_logger_mt(component);
  logger->set_pattern("[%Y-%m-%d %H:%M:%S.%e] [%n] [%l] [pid %P] %v");
  const char* level = std::getenv("WEFT_LOG_LEVEL");
  logger->set_level(level ? spdlog::level::from_str(level) : spdlog::level::info);
  logger->flush_on(spdlog::level::info);
  spdlog::set_default_logger(logger);
}

}  // namespace weft
