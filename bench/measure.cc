#include "bench/measure.h"

#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace weft::bench {
namespace {

using Clock = std::chrono::steady_clock;

// The program `name` next to this one (bin/).
std::filesystem::path Sibling(const std::string& name) {
  return std::filesystem::read_symlink("/proc/self/exe").parent_path() / name;
}

double Micros(Clock::duration d) { return std::chrono::duration<double, std::micro>(d).count(); }

void Percentiles(std::vector<double> us, CaseResult& result) {
  if (us.empty()) return;
  std::sort(us.begin(), us.end());
  result.p50_us = us[us.size() / 2];
  result.p99_us = us[std::min(us.size() - 1, us.size() * 99 / 100)];
}

// Runs `unit` `count` times; ops/s counts count * per_unit operations, p50/p99 are per unit.
CaseResult Timed(std::string name, int count, int per_unit, const std::function<void()>& unit,
                 std::string latency_of) {
  std::vector<double> us;
  us.reserve(count);
  const auto start = Clock::now();
  for (int i = 0; i < count; ++i) {
    const auto before = Clock::now();
    unit();
    us.push_back(Micros(Clock::now() - before));
  }
  const double seconds = Micros(Clock::now() - start) / 1e6;
  CaseResult result{.name = std::move(name),
                    .ops_per_s = static_cast<double>(count) * per_unit / seconds,
                    .latency_of = std::move(latency_of)};
  Percentiles(std::move(us), result);
  return result;
}

}  // namespace

CaseResult TimeEach(std::string name, int count, const std::function<void()>& op) {
  for (int i = 0; i < count / 10; ++i) op();
  return Timed(std::move(name), count, 1, op, "call");
}

CaseResult TimeBatches(std::string name, int count, int per_batch,
                       const std::function<void()>& batch) {
  batch();
  return Timed(std::move(name), count, per_batch, batch,
               per_batch == 1 ? "call" : "batch of " + std::to_string(per_batch));
}

std::vector<CaseResult> RunSibling(const std::string& program, bool quick) {
  const auto path = Sibling(program);
  if (!std::filesystem::exists(path)) {
    std::fprintf(stderr, "weft-bench: %s is not built; its rows are missing\n", program.c_str());
    return {};
  }
  const std::string command = path.string() + (quick ? " --quick" : "");
  FILE* pipe = popen(command.c_str(), "r");
  if (!pipe) return {};
  std::vector<CaseResult> results;
  char line[512];
  while (std::fgets(line, sizeof(line), pipe)) {
    std::istringstream in(line);
    std::string word;
    CaseResult result;
    if (!(in >> word) || word != "case") continue;
    if (in >> result.name >> result.ops_per_s >> result.p50_us >> result.p99_us >>
        result.bytes_per_s) {
      result.latency_of = result.p50_us > 0 ? "call" : "";
      results.push_back(std::move(result));
    }
  }
  const int status = pclose(pipe);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    std::fprintf(stderr, "weft-bench: %s failed (status %d)\n", program.c_str(), status);
  }
  return results;
}

namespace {

// `word` quoted for the shell.
std::string Quoted(const std::string& word) {
  std::string quoted = "'";
  for (char c : word) quoted += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return quoted + "'";
}

// Runs the `weft` CLI next to this program with `args`; true when it succeeded. Its output
// goes to `log`.
bool RunWeft(const std::vector<std::string>& args, const std::string& log) {
  const auto weft = Sibling("weft");
  std::string command = Quoted(weft.string());
  for (const auto& arg : args) command += " " + Quoted(arg);
  command += " >>" + Quoted(log) + " 2>&1";
  const int status = std::system(command.c_str());
  return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

}  // namespace

TwoMachineCluster::TwoMachineCluster() {
  char root[] = "/tmp/weft-bench-XXXXXX";
  if (!mkdtemp(root)) return;
  root_ = root;
  const std::string log = root_ + "/cli.log";
  const std::string me = std::to_string(getpid());
  if (!RunWeft({"start", "--head", "--port", "0", "--num-cpus", "1", "--session-dir",
                head_session(), "--exit-with-pid", me},
               log)) {
    std::fprintf(stderr, "weft-bench: cannot start a head (see %s)\n", log.c_str());
    return;
  }
  std::ifstream address_file(head_session() + "/head_address");
  std::string address;
  address_file >> address;
  if (address.empty() || !RunWeft({"start", "--address", address, "--num-cpus", "1", "--resources",
                                   R"({"far": 1})", "--token-file", head_session() + "/token",
                                   "--session-dir", root_ + "/far", "--exit-with-pid", me},
                                  log)) {
    std::fprintf(stderr, "weft-bench: cannot start a second node (see %s)\n", log.c_str());
    return;
  }
  address_ = address;
}

TwoMachineCluster::~TwoMachineCluster() {
  if (root_.empty()) return;
  const std::string log = root_ + "/cli.log";
  RunWeft({"stop", "--session-dir", root_ + "/far"}, log);
  RunWeft({"stop", "--session-dir", head_session()}, log);
  std::error_code ec;
  std::filesystem::remove_all(root_, ec);
}

}  // namespace weft::bench
