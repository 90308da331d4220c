#include "bench/head_scale/head_process.h"

#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "absl/strings/str_cat.h"
#include "common/process.h"

namespace weft::bench {
namespace {

// CPU seconds (user and system) process `pid` has used.
double CpuSeconds(int pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string text((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
  const size_t end = text.rfind(')');  // the command may hold spaces
  if (end == std::string::npos) return 0;
  std::istringstream fields(text.substr(end + 2));
  std::string field;
  double user = 0, system = 0;
  for (int i = 3; i <= 15 && fields >> field; ++i) {
    if (i == 14) user = std::atof(field.c_str());
    if (i == 15) system = std::atof(field.c_str());
  }
  return (user + system) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

}  // namespace

HeadProcess::HeadProcess(const std::string& root, const std::string& storage,
                         const std::string& session)
    : session_(session.empty() ? root + "/head" : session) {
  if (session.empty()) {
    weft_ = SiblingExecutable("weft");
    std::string command = absl::StrCat(weft_, " start --head --port 0 --num-cpus 0 --session-dir ",
                                       session_, " --exit-with-pid ", getpid());
    if (!storage.empty()) absl::StrAppend(&command, " --storage ", storage);
    if (std::system((command + " >/dev/null").c_str()) != 0) return;
  }
  std::ifstream(session_ + "/head_address") >> address_;
  std::ifstream(session_ + "/token") >> token_;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(session_ + "/raylets", ec)) {
    pid_ = std::atoi(entry.path().filename().c_str());
  }
}

HeadProcess::~HeadProcess() {
  if (!weft_.empty()) {
    std::system((weft_ + " stop --session-dir " + session_ + " >/dev/null 2>&1").c_str());
  }
}

int64_t HeadProcess::ResidentBytes() const {
  std::ifstream status("/proc/" + std::to_string(pid_) + "/status");
  for (std::string line; std::getline(status, line);) {
    if (line.rfind("VmRSS:", 0) == 0) return std::atoll(line.c_str() + 6) * 1024;
  }
  return -1;
}

double HeadProcess::CpuShare(double seconds) const {
  using Clock = std::chrono::steady_clock;
  const double before = CpuSeconds(pid_);
  const auto start = Clock::now();
  std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
  return (CpuSeconds(pid_) - before) / std::chrono::duration<double>(Clock::now() - start).count();
}

int64_t HeadProcess::ListedByCli() const {
  const std::string command = absl::StrCat(SiblingExecutable("weft"),
                                           " list actors --format json --session-dir ", session_);
  FILE* out = popen(command.c_str(), "r");
  if (!out) return -1;
  int64_t listed = 0;
  char line[4096];
  while (std::fgets(line, sizeof(line), out)) {
    for (const char* at = line; (at = std::strstr(at, "\"actor_id\"")); ++at) ++listed;
  }
  const int status = pclose(out);
  return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? listed : -1;
}

}  // namespace weft::bench
