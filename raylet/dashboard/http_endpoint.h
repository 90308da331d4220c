#pragma once

#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/notification.h"

namespace httplib {
class Server;
struct Response;
}  // namespace httplib

namespace weft::dashboard {

struct HttpEndpointOptions {
  std::string host = "127.0.0.1";
  int port = 0;  // 0: any free port
  // HTTPS under this certificate and key (PEM files) when set.
  std::string cert_file;
  std::string key_file;
  // Named in the error when the port is taken: "the dashboard", "--dashboard-port".
  std::string what;
  std::string port_flag;
  size_t max_request_bytes = 64 * 1024;
};

// An HTTP(S) server of the raylet's (cpp-httplib), serving on threads of its own: the head's
// dashboard, a node's /metrics. Every answer carries headers that keep it from being framed,
// sniffed or cached. Not SO_REUSEPORT (httplib's default): a second raylet on this machine must
// not share the port and get half of the first one's requests.
class HttpEndpoint {
 public:
  // Binds, lets `routes` add its handlers, and starts serving. UNAVAILABLE when the port cannot
  // be bound; INVALID_ARGUMENT for a certificate or key file that cannot be used.
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<HttpEndpoint>> Start(
      const HttpEndpointOptions& options, const std::function<void(httplib::Server&)>& routes);
  ~HttpEndpoint();  // stops serving; requests in progress finish first
  HttpEndpoint(const HttpEndpoint&) = delete;
  HttpEndpoint& operator=(const HttpEndpoint&) = delete;

  int port() const { return port_; }
  // http(s)://host:port/ where this machine reaches it.
  const std::string& url() const { return url_; }

 private:
  HttpEndpoint() = default;

  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
  absl::Notification served_;  // the serving loop has returned
  int port_ = 0;
  std::string url_;
};

// JSON {"error": message}, for an answer that failed.
std::string ErrorJson(absl::string_view message);
// Answers `status` as its HTTP code (400, 401, 404, 409, 503 for a peer that cannot be reached,
// else 500) with ErrorJson.
void AnswerError(httplib::Response& res, const absl::Status& status);

}  // namespace weft::dashboard
