#pragma once

// weft-head-scale's timings and its report: named rows, printed as a table and written as JSON.

#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_format.h"

namespace weft::bench {

using Clock = std::chrono::steady_clock;

inline double Seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

// Runs `call` (a gRPC call on the context it is given, with a 60 s deadline) and adds its
// latency in µs to `us`.
template <class Call>
grpc::Status Timed(Call call, std::vector<double>& us) {
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
  const auto start = Clock::now();
  grpc::Status status = call(context);
  us.push_back(Seconds(Clock::now() - start) * 1e6);
  return status;
}

struct Latencies {
  double p50_us = 0, p99_us = 0;
  static Latencies Of(std::vector<double> us) {
    Latencies l;
    if (us.empty()) return l;
    std::sort(us.begin(), us.end());
    l.p50_us = us[us.size() / 2];
    l.p99_us = us[std::min(us.size() - 1, us.size() * 99 / 100)];
    return l;
  }
};

inline std::string Us(double us) { return absl::StrFormat("%.0f us", us); }
inline std::string Percent(double share) {
  return absl::StrFormat("%.1f%% of one core", share * 100);
}

struct Report {
  std::vector<std::pair<std::string, std::string>> rows;  // name, value
  void Add(std::string name, std::string value) {
    rows.emplace_back(std::move(name), std::move(value));
  }
  // "<what> p50" and "<what> p99" rows.
  void AddLatencies(const std::string& what, const std::vector<double>& us) {
    const Latencies l = Latencies::Of(us);
    Add(what + " p50", Us(l.p50_us));
    Add(what + " p99", Us(l.p99_us));
  }
  void Print() const {
    for (const auto& [name, value] : rows) std::printf("%-44s %s\n", name.c_str(), value.c_str());
  }
  bool WriteJson(const std::string& path) const {
    std::ofstream out(path);
    out << "{\n";
    for (size_t i = 0; i < rows.size(); ++i) {
      out << "  \"" << rows[i].first << "\": \"" << rows[i].second << "\""
          << (i + 1 < rows.size() ? ",\n" : "\n");
    }
    out << "}\n";
    return static_cast<bool>(out);
  }
};

}  // namespace weft::bench
