#pragma once

// A strict reader of Prometheus's text exposition format (0.0.4), for tests of /metrics:
// every line is a HELP or TYPE comment or a sample `name{label="value",...} value`, every
// sample belongs to a family whose TYPE came first, and label values are escaped as the
// format says.

#include <cctype>
#include <cstdlib>
#include <map>
#include <set>
#include <string>
#include <vector>
#include "absl/strings/string_view.h"

#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace weft::testing {

struct PrometheusSample {
  std::string name;
  std::map<std::string, std::string> labels;
  double value = 0;
};

inline bool IsMetricName(absl::string_view name) {
  if (name.empty() || std::isdigit(static_cast<unsigned char>(name[0]))) return false;
  for (const char c : name) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != ':') return false;
  }
  return true;
}

inline absl::StatusOr<std::vector<PrometheusSample>> ParsePrometheusText(absl::string_view text) {
  std::map<std::string, std::string> types;
  std::vector<PrometheusSample> samples;
  int number = 0;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    ++number;
    auto bad = [&](absl::string_view why) {
      return absl::InvalidArgumentError(absl::StrCat("line ", number, ": ", why, ": ", line));
    };
    if (line.empty()) continue;
    if (line[0] == '#') {
      std::vector<absl::string_view> words = absl::StrSplit(line, absl::MaxSplits(' ', 3));
      if (words.size() < 3 || (words[1] != "HELP" && words[1] != "TYPE")) continue;  // comment
      if (!IsMetricName(words[2])) return bad("bad metric name");
      if (words[1] == "TYPE") {
        static const std::set<absl::string_view> kTypes = {"counter", "gauge", "histogram",
                                                           "summary", "untyped"};
        if (words.size() != 4 || !kTypes.count(words[3])) return bad("bad type");
        types[std::string(words[2])] = std::string(words[3]);
      }
      continue;
    }
    PrometheusSample sample;
    size_t i = 0;
    while (i < line.size() && line[i] != '{' && line[i] != ' ') ++i;
    sample.name = std::string(line.substr(0, i));
    if (!IsMetricName(sample.name)) return bad("bad metric name");
    if (i < line.size() && line[i] == '{') {
      ++i;
      while (i < line.size() && line[i] != '}') {
        size_t eq = line.find('=', i);
        if (eq == absl::string_view::npos || eq + 1 >= line.size() || line[eq + 1] != '"') {
          return bad("bad label");
        }
        const std::string key(line.substr(i, eq - i));
        if (!IsMetricName(key)) return bad("bad label name");
        std::string value;
        size_t j = eq + 2;
        for (; j < line.size() && line[j] != '"'; ++j) {
          if (line[j] == '\\') {
            if (++j >= line.size()) return bad("bad escape");
            value += line[j] == 'n' ? '\n' : line[j];
            if (line[j] != 'n' && line[j] != '\\' && line[j] != '"') return bad("bad escape");
          } else {
            value += line[j];
          }
        }
        if (j >= line.size()) return bad("unterminated label value");
        sample.labels[key] = value;
        i = j + 1;
        if (i < line.size() && line[i] == ',') ++i;
      }
      if (i >= line.size()) return bad("unterminated labels");
      ++i;
    }
    if (i >= line.size() || line[i] != ' ') return bad("no value");
    std::vector<absl::string_view> rest = absl::StrSplit(line.substr(i + 1), ' ');
    if (rest.empty() || rest.size() > 2) return bad("bad value");
    if (rest[0] == "+Inf" || rest[0] == "-Inf" || rest[0] == "NaN") {
      sample.value = std::strtod(std::string(rest[0]).c_str(), nullptr);
    } else if (!absl::SimpleAtod(rest[0], &sample.value)) {
      return bad("bad value");
    }
    std::string family = sample.name;
    for (const char* suffix : {"_bucket", "_sum", "_count"}) {
      if (!types.count(family) && absl::EndsWith(family, suffix)) {
        family = family.substr(0, family.size() - absl::string_view(suffix).size());
      }
    }
    if (!types.count(family)) return bad("sample before its TYPE");
    samples.push_back(std::move(sample));
  }
  return samples;
}

// The value of the sample `name` whose labels include `labels`; -1 when there is none.
inline double SampleValue(const std::vector<PrometheusSample>& samples, const std::string& name,
                          const std::map<std::string, std::string>& labels = {}) {
  for (const auto& sample : samples) {
    if (sample.name != name) continue;
    bool match = true;
    for (const auto& [key, value] : labels) {
      auto it = sample.labels.find(key);
      match &= it != sample.labels.end() && it->second == value;
    }
    if (match) return sample.value;
  }
  return -1;
}

}  // namespace weft::testing
