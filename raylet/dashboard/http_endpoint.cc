#include "raylet/dashboard/http_endpoint.h"

#include <httplib.h>
#include <sys/socket.h>

#include "absl/strings/str_cat.h"
#include "common/net_address.h"

namespace weft::dashboard {
namespace {

// Requests served at once: a browser polls over one or two kept-alive connections, a
// Prometheus server scrapes now and then.
constexpr size_t kServingThreads = 4;

// Headers of every answer: nothing is framed or sniffed, no page is cached, and the pages load
// only what this server serves (no CDN, no inline script).
httplib::Headers SafetyHeaders() {
  return {{"X-Content-Type-Options", "nosniff"},
          {"X-Frame-Options", "DENY"},
          {"Referrer-Policy", "no-referrer"},
          {"Cache-Control", "no-store"},
          {"Content-Security-Policy",
           "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; form-action 'self'"}};
}

int HttpStatusOf(const absl::Status& status) {
  switch (status.code()) {
    case absl::StatusCode::kInvalidArgument:
      return 400;
    case absl::StatusCode::kUnauthenticated:
      return 401;
    case absl::StatusCode::kNotFound:
      return 404;
    case absl::StatusCode::kFailedPrecondition:
      return 409;
    case absl::StatusCode::kUnavailable:
    case absl::StatusCode::kDeadlineExceeded:
      return 503;
    default:
      return 500;
  }
}

}  // namespace

std::string ErrorJson(absl::string_view message) {
  // JSON string escaping of the message (quotes, backslashes, control characters).
  std::string escaped;
  for (const char c : message) {
    if (c == '"' || c == '\\') {
      escaped += '\\';
      escaped += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      escaped += absl::StrCat("\\u00", absl::Hex(static_cast<unsigned char>(c), absl::kZeroPad2));
    } else {
      escaped += c;
    }
  }
  return absl::StrCat("{\"error\": \"", escaped, "\"}\n");
}

void AnswerError(httplib::Response& res, const absl::Status& status) {
  res.status = HttpStatusOf(status);
  res.set_content(ErrorJson(status.message()), "application/json");
}

absl::StatusOr<std::unique_ptr<HttpEndpoint>> HttpEndpoint::Start(
    const HttpEndpointOptions& o, const std::function<void(httplib::Server&)>& routes) {
  std::unique_ptr<HttpEndpoint> endpoint(new HttpEndpoint());
  const bool https = !o.cert_file.empty();
  if (https) {
    endpoint->server_ =
        std::make_unique<httplib::SSLServer>(o.cert_file.c_str(), o.key_file.c_str());
  } else {
    endpoint->server_ = std::make_unique<httplib::Server>();
  }
  httplib::Server& server = *endpoint->server_;
  if (!server.is_valid()) {
    return absl::InvalidArgumentError(absl::StrCat("cannot serve HTTPS with the certificate ",
                                                   o.cert_file, " and the key ", o.key_file));
  }
  server.new_task_queue = [] { return new httplib::ThreadPool(kServingThreads); };
  server.set_socket_options([](int socket) {
    int yes = 1;
    setsockopt(socket, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
  });
  server.set_default_headers(SafetyHeaders());
  server.set_payload_max_length(o.max_request_bytes);
  server.set_exception_handler(
      [](const httplib::Request&, httplib::Response& res, std::exception_ptr error) {
        std::string what = "unknown error";
        try {
          std::rethrow_exception(error);
        } catch (const std::exception& e) {
          what = e.what();
        } catch (...) {
        }
        AnswerError(res, absl::InternalError(what));
      });
  routes(server);

  const int port = o.port == 0 ? server.bind_to_any_port(o.host)
                               : (server.bind_to_port(o.host, o.port) ? o.port : -1);
  if (port < 0) {
    return absl::UnavailableError(absl::StrCat("cannot serve ", o.what, " on ",
                                               JoinHostPort(o.host, o.port), " (in use? ",
                                               o.port_flag, " picks another, 0 any free one)"));
  }
  endpoint->port_ = port;
  endpoint->url_ =
      absl::StrCat(https ? "https://" : "http://", JoinHostPort(LocalDialHost(o.host), port), "/");
  endpoint->thread_ = std::thread([&server, &served = endpoint->served_] {
    server.listen_after_bind();
    served.Notify();
  });
  return endpoint;
}

HttpEndpoint::~HttpEndpoint() {
  // httplib's stop() does nothing until the serving loop has begun (a raylet stopped as soon as
  // it started): ask again until the loop has returned.
  if (thread_.joinable()) {
    do {
      server_->stop();
    } while (!served_.WaitForNotificationWithTimeout(absl::Milliseconds(10)));
    thread_.join();
  }
}

}  // namespace weft::dashboard
