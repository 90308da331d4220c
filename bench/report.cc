#include "bench/report.h"

#include <sys/utsname.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace weft::bench {
namespace {

std::string FirstLineWith(const char* path, const std::string& key) {
  std::ifstream in(path);
  for (std::string line; std::getline(in, line);) {
    if (line.rfind(key, 0) != 0) continue;
    const auto colon = line.find(':');
    if (colon == std::string::npos) continue;
    const auto start = line.find_first_not_of(" \t", colon + 1);
    return start == std::string::npos ? "" : line.substr(start);
  }
  return "";
}

std::string Quoted(const std::string& text) {
  std::string out = "\"";
  for (char c : text) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

std::string Number(double value) { return absl::StrFormat("%.6g", value); }

std::string Optional(const std::optional<double>& value) { return value ? Number(*value) : "null"; }

std::string Rate(double ops) {
  if (ops >= 1e6) return absl::StrFormat("%.2fM", ops / 1e6);
  if (ops >= 1e4) return absl::StrFormat("%.1fk", ops / 1e3);
  return absl::StrFormat("%.1f", ops);
}

std::string Micros(double us) {
  if (us <= 0) return "-";
  if (us >= 1e5) return absl::StrFormat("%.0fms", us / 1e3);
  return absl::StrFormat("%.0fus", us);
}

}  // namespace

Machine Machine::ThisOne() {
  Machine machine;
  machine.cpu = FirstLineWith("/proc/cpuinfo", "model name");
  machine.cores = std::thread::hardware_concurrency();
  const std::string total = FirstLineWith("/proc/meminfo", "MemTotal");
  machine.memory_gib = std::atof(total.c_str()) / (1024.0 * 1024.0);
  utsname name{};
  if (uname(&name) == 0) machine.kernel = absl::StrCat(name.sysname, " ", name.release);
  machine.compiler = absl::StrCat("g++ ", __VERSION__);
  return machine;
}

void ComputeRatios(std::vector<CaseResult>& cases) {
  auto find = [&](const std::string& name) -> const CaseResult* {
    for (const auto& c : cases) {
      if (c.name == name) return &c;
    }
    return nullptr;
  };
  auto ratio = [](const CaseResult& ours, const CaseResult& theirs) -> std::optional<double> {
    if (ours.bytes_per_s > 0 && theirs.bytes_per_s > 0)
      return ours.bytes_per_s / theirs.bytes_per_s;
    if (theirs.ops_per_s <= 0) return std::nullopt;
    return ours.ops_per_s / theirs.ops_per_s;
  };
  for (auto& c : cases) {
    if (const CaseResult* floor = c.floor.empty() ? nullptr : find(c.floor)) {
      if (!c.ratio) c.ratio = ratio(c, *floor);
    }
    if (const CaseResult* peer = c.peer.empty() ? nullptr : find(c.peer)) {
      c.peer_ratio = ratio(c, *peer);
    }
  }
}

std::vector<CaseResult> Medians(const std::vector<std::vector<CaseResult>>& runs) {
  std::vector<std::string> order;  // first seen first
  for (const auto& run : runs) {
    for (const auto& c : run) {
      if (std::find(order.begin(), order.end(), c.name) == order.end()) order.push_back(c.name);
    }
  }
  auto median = [](std::vector<double> values) {
    std::sort(values.begin(), values.end());
    const size_t half = values.size() / 2;
    return values.size() % 2 ? values[half] : (values[half - 1] + values[half]) / 2;
  };
  std::vector<CaseResult> rows;
  for (const auto& name : order) {
    std::vector<const CaseResult*> measured;
    for (const auto& run : runs) {
      for (const auto& c : run) {
        if (c.name == name) measured.push_back(&c);
      }
    }
    std::sort(measured.begin(), measured.end(),
              [](const CaseResult* a, const CaseResult* b) { return a->ops_per_s < b->ops_per_s; });
    CaseResult row = *measured[(measured.size() - 1) / 2];  // its latencies and note
    row.repeats = static_cast<int>(measured.size());
    row.ops_min = measured.front()->ops_per_s;
    row.ops_max = measured.back()->ops_per_s;
    std::vector<double> ops, bytes, ratios, peer_ratios;
    for (const CaseResult* c : measured) {
      ops.push_back(c->ops_per_s);
      bytes.push_back(c->bytes_per_s);
      if (c->ratio) ratios.push_back(*c->ratio);
      if (c->peer_ratio) peer_ratios.push_back(*c->peer_ratio);
    }
    row.ops_per_s = median(ops);
    row.bytes_per_s = median(bytes);
    if (!peer_ratios.empty()) row.peer_ratio = median(peer_ratios);
    row.ratio.reset();
    if (!ratios.empty()) {
      row.ratio = median(ratios);
      row.ratio_min = *std::min_element(ratios.begin(), ratios.end());
      row.ratio_max = *std::max_element(ratios.begin(), ratios.end());
    }
    rows.push_back(std::move(row));
  }
  return rows;
}

void PrintTable(const Machine& machine, const std::vector<CaseResult>& cases, bool quick) {
  std::printf("machine: %s, %u cores, %.1f GiB, %s, %s%s\n", machine.cpu.c_str(), machine.cores,
              machine.memory_gib, machine.kernel.c_str(), machine.compiler.c_str(),
              quick ? " (--quick: too short to quote)" : "");
  const bool repeated = !cases.empty() && cases.front().repeats > 1;
  if (repeated) {
    std::printf("medians of %d repeats; the range is the ratio's (ops/s's without a floor)\n",
                cases.front().repeats);
  }
  std::printf("%-40s %10s %9s %9s %-28s %7s %-13s %s\n", "case", "ops/s", "p50", "p99", "vs floor",
              "ratio", repeated ? "range" : "", "note");
  for (const auto& c : cases) {
    std::string note = c.note;
    if (c.bytes_per_s > 0)
      note = absl::StrCat(absl::StrFormat("%.0f MiB/s", c.bytes_per_s / (1 << 20)),
                          note.empty() ? "" : "; ", note);
    if (c.peer_ratio)
      note = absl::StrCat(note, note.empty() ? "" : "; ",
                          absl::StrFormat("%.2fx %s", *c.peer_ratio, c.peer));
    if (!c.latency_of.empty() && c.latency_of != "call")
      note = absl::StrCat(note, note.empty() ? "" : "; ", "latency per ", c.latency_of);
    std::string range;
    if (c.repeats > 1 && c.ratio_min) {
      range = absl::StrFormat("%.2f-%.2fx", *c.ratio_min, *c.ratio_max);
    } else if (c.repeats > 1) {
      range = absl::StrCat(Rate(c.ops_min), "-", Rate(c.ops_max));
    }
    std::printf("%-40s %10s %9s %9s %-28s %7s %-13s %s\n", c.name.c_str(),
                Rate(c.ops_per_s).c_str(), Micros(c.p50_us).c_str(), Micros(c.p99_us).c_str(),
                c.floor.c_str(), c.ratio ? absl::StrFormat("%.2fx", *c.ratio).c_str() : "",
                range.c_str(), note.c_str());
  }
  std::fflush(stdout);
}

bool WriteJson(const std::string& path, const Machine& machine,
               const std::vector<CaseResult>& cases, bool quick) {
  std::ostringstream out;
  out << "{\n  \"machine\": {\"cpu\": " << Quoted(machine.cpu) << ", \"cores\": " << machine.cores
      << ", \"memory_gib\": " << Number(machine.memory_gib)
      << ", \"kernel\": " << Quoted(machine.kernel)
      << ", \"compiler\": " << Quoted(machine.compiler)
      << ", \"quick\": " << (quick ? "true" : "false") << "},\n  \"cases\": [\n";
  for (size_t i = 0; i < cases.size(); ++i) {
    const auto& c = cases[i];
    out << "    {\"name\": " << Quoted(c.name) << ", \"ops_per_s\": " << Number(c.ops_per_s)
        << ", \"p50_us\": " << Number(c.p50_us) << ", \"p99_us\": " << Number(c.p99_us)
        << ", \"latency_of\": " << Quoted(c.latency_of)
        << ", \"bytes_per_s\": " << Number(c.bytes_per_s) << ", \"floor\": " << Quoted(c.floor)
        << ", \"ratio\": " << Optional(c.ratio) << ", \"peer\": " << Quoted(c.peer)
        << ", \"peer_ratio\": " << Optional(c.peer_ratio) << ", \"repeats\": " << c.repeats
        << ", \"ops_min\": " << Number(c.ops_min) << ", \"ops_max\": " << Number(c.ops_max)
        << ", \"ratio_min\": " << Optional(c.ratio_min)
        << ", \"ratio_max\": " << Optional(c.ratio_max) << ", \"note\": " << Quoted(c.note) << "}"
        << (i + 1 < cases.size() ? "," : "") << "\n";
  }
  out << "  ]\n}\n";
  std::ofstream file(path);
  file << out.str();
  return static_cast<bool>(file);
}

}  // namespace weft::bench
