#pragma once

// A headless Chromium driven over the W3C WebDriver protocol (Debian's chromium and
// chromium-driver), for browser tests of the dashboard. ChromeDriver runs in a process group
// of its own with the browser; the destructor ends the session and kills the group, so nothing
// outlives a failed test.

#include <google/protobuf/struct.pb.h>
#include <sys/types.h>

#include <chrono>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "tests/cluster_harness.h"

namespace httplib {
class Client;
}

namespace weft::testing {

class WebDriver {
 public:
  // Starts ChromeDriver on a free port and opens a headless Chromium window of the given size.
  // FAILED_PRECONDITION when Chromium or ChromeDriver is missing or cannot start here (the
  // test then skips, saying why).
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<WebDriver>> Start(int width = 1400,
                                                                        int height = 900);
  ~WebDriver();
  WebDriver(const WebDriver&) = delete;
  WebDriver& operator=(const WebDriver&) = delete;

  // Loads `url` and waits for the page to load.
  [[nodiscard]] absl::Status Navigate(const std::string& url);
  // Types `text` into the element `css` selects, then clicks the element `submit` selects.
  [[nodiscard]] absl::Status FillAndSubmit(const std::string& css, const std::string& text,
                                           const std::string& submit);
  // Runs `script` (a function body: `return ...;`) in the page and returns its value.
  [[nodiscard]] absl::StatusOr<google::protobuf::Value> Execute(const std::string& script);
  // The page as a PNG.
  [[nodiscard]] absl::StatusOr<std::string> Screenshot();

 private:
  WebDriver() = default;
  // One WebDriver command: `body` is JSON (empty for GET); answers the reply's "value".
  absl::StatusOr<google::protobuf::Value> Command(const std::string& method,
                                                  const std::string& path,
                                                  const google::protobuf::Struct& body = {});
  absl::StatusOr<std::string> FindElement(const std::string& css);

  TempDir dir_;  // the browser's profile and ChromeDriver's log
  pid_t pid_ = -1;
  std::unique_ptr<httplib::Client> client_;
  std::string session_;
};

}  // namespace weft::testing
