#include "raylet/dashboard/dashboard.h"

#include <httplib.h>
#include <openssl/pem.h>
#include <sys/socket.h>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "cli/cluster_views.h"
#include "cli/job_render.h"
#include "cli/render.h"
#include "common/logging.h"
#include "common/net_address.h"
#include "raylet/dashboard/dashboard_assets.h"
#include "raylet/dashboard/dashboard_auth.h"

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
    case absl::StatusCode::kUnavailable:
    case absl::StatusCode::kDeadlineExceeded:
      return 503;
    default:
      return 500;
  }
}

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

void Answer(httplib::Response& res, const absl::StatusOr<std::string>& json) {
  if (json.ok()) {
    res.set_content(*json, "application/json");
    return;
  }
  res.status = HttpStatusOf(json.status());
  res.set_content(ErrorJson(json.status().message()), "application/json");
}

void ServeAsset(httplib::Response& res, absl::string_view path) {
  const WebAsset* asset = FindAsset(path);
  if (asset == nullptr) {
    res.status = 404;
    res.set_content(ErrorJson(absl::StrCat("no page ", path)), "application/json");
    return;
  }
  res.set_content(std::string(asset->content), std::string(asset->content_type));
}

// The login page, with a line saying why it is shown again.
std::string LoginPage(absl::string_view notice) {
  const WebAsset* page = FindAsset("/login.html");
  return absl::StrReplaceAll(page->content, {{"<!--notice-->", notice}});
}

bool IsPublic(const std::string& path) {
  return path == "/login" || path == "/dashboard.css" || path == "/favicon.svg";
}

bool WantsJson(const std::string& path) {
  return absl::StartsWith(path, "/api/") || path == "/metrics";
}

// What a PEM certificate and key parse to, for SSLServer (which takes its own references).
struct Identity {
  X509* cert = nullptr;
  EVP_PKEY* key = nullptr;
  ~Identity() {
    X509_free(cert);
    EVP_PKEY_free(key);
  }
};

absl::Status ParseIdentity(const std::string& cert_pem, const std::string& key_pem, Identity& out) {
  BIO* cert_bio = BIO_new_mem_buf(cert_pem.data(), static_cast<int>(cert_pem.size()));
  out.cert = PEM_read_bio_X509(cert_bio, nullptr, nullptr, nullptr);
  BIO_free(cert_bio);
  BIO* key_bio = BIO_new_mem_buf(key_pem.data(), static_cast<int>(key_pem.size()));
  out.key = PEM_read_bio_PrivateKey(key_bio, nullptr, nullptr, nullptr);
  BIO_free(key_bio);
  if (out.cert == nullptr || out.key == nullptr) {
    return absl::InvalidArgumentError("the dashboard's TLS certificate or key does not parse");
  }
  return absl::OkStatus();
}

}  // namespace

Dashboard::Dashboard(DashboardOptions options) : options_(std::move(options)) {}

absl::StatusOr<std::unique_ptr<Dashboard>> Dashboard::Start(DashboardOptions options) {
  std::unique_ptr<Dashboard> dashboard(new Dashboard(std::move(options)));
  const DashboardOptions& o = dashboard->options_;
  const bool https = !o.cert_pem.empty();
  if (https) {
    Identity identity;
    if (auto parsed = ParseIdentity(o.cert_pem, o.key_pem, identity); !parsed.ok()) return parsed;
    dashboard->server_ = std::make_unique<httplib::SSLServer>(identity.cert, identity.key);
  } else {
    dashboard->server_ = std::make_unique<httplib::Server>();
  }
  httplib::Server& server = *dashboard->server_;
  if (!server.is_valid()) return absl::InternalError("cannot set up the dashboard's HTTP server");
  server.new_task_queue = [] { return new httplib::ThreadPool(kServingThreads); };
  // Not SO_REUSEPORT (httplib's default): a second head on this machine must not share the
  // port and get half of the first one's requests.
  server.set_socket_options([](int socket) {
    int yes = 1;
    setsockopt(socket, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
  });
  server.set_default_headers(SafetyHeaders());
  server.set_payload_max_length(64 * 1024);  // a login form, nothing larger
  dashboard->AddRoutes();

  const int port = o.port == 0 ? server.bind_to_any_port(o.host)
                               : (server.bind_to_port(o.host, o.port) ? o.port : -1);
  if (port < 0) {
    return absl::UnavailableError(
        absl::StrCat("cannot serve the dashboard on ", JoinHostPort(o.host, o.port),
                     " (in use? --dashboard-port picks another, 0 any free one)"));
  }
  dashboard->port_ = port;
  dashboard->url_ =
      absl::StrCat(https ? "https://" : "http://", JoinHostPort(LocalDialHost(o.host), port), "/");
  dashboard->thread_ = std::thread([&server, &served = dashboard->served_] {
    server.listen_after_bind();
    served.Notify();
  });
  return dashboard;
}

Dashboard::~Dashboard() {
  // httplib's stop() does nothing until the serving loop has begun (a head stopped as soon as
  // it started): ask again until the loop has returned.
  if (thread_.joinable()) {
    do {
      server_->stop();
    } while (!served_.WaitForNotificationWithTimeout(absl::Milliseconds(10)));
    thread_.join();
  }
}

void Dashboard::AddRoutes() {
  httplib::Server& server = *server_;
  const bool https = !options_.cert_pem.empty();
  const TokenAuth* auth = options_.auth;
  const cli::HeadClient head = cli::HeadClient::At(options_.head_address, options_.token);

  server.set_pre_routing_handler([auth](const httplib::Request& req, httplib::Response& res) {
    if (IsPublic(req.path) || Authorized(req.get_header_value("Authorization"),
                                         req.get_header_value("Cookie"), auth->Accepted())) {
      return httplib::Server::HandlerResponse::Unhandled;
    }
    if (WantsJson(req.path)) {
      res.status = 401;
      res.set_header("WWW-Authenticate", "Bearer realm=\"weft\"");
      res.set_content(ErrorJson("the cluster token is needed: log in at /login, or send "
                                "Authorization: Bearer <token>"),
                      "application/json");
    } else {
      res.set_redirect("/login", 303);
    }
    return httplib::Server::HandlerResponse::Handled;
  });
  server.set_exception_handler(
      [](const httplib::Request&, httplib::Response& res, std::exception_ptr error) {
        std::string what = "unknown error";
        try {
          std::rethrow_exception(error);
        } catch (const std::exception& e) {
          what = e.what();
        } catch (...) {
        }
        res.status = 500;
        res.set_content(ErrorJson(what), "application/json");
      });

  server.Get("/login", [](const httplib::Request&, httplib::Response& res) {
    res.set_content(LoginPage(""), "text/html; charset=utf-8");
  });
  server.Post("/login", [auth, https](const httplib::Request& req, httplib::Response& res) {
    const std::string token = req.get_param_value("token");
    if (!TokenAccepted(token, auth->Accepted())) {
      res.status = 401;
      res.set_content(LoginPage("<p class=\"notice\">That is not this cluster's token.</p>"),
                      "text/html; charset=utf-8");
      return;
    }
    res.set_header("Set-Cookie", LoginCookie(token, https));
    res.set_redirect("/", 303);
  });
  server.Post("/logout", [https](const httplib::Request&, httplib::Response& res) {
    res.set_header("Set-Cookie", LogoutCookie(https));
    res.set_redirect("/login", 303);
  });

  server.Get(
      "/", [](const httplib::Request&, httplib::Response& res) { ServeAsset(res, "/index.html"); });
  server.Get(
      R"(/([a-z_]+\.(js|css|svg)))",
      [](const httplib::Request& req, httplib::Response& res) { ServeAsset(res, req.path); });

  server.Get("/metrics",
             [head, metrics = options_.metrics](const httplib::Request&, httplib::Response& res) {
               auto text = metrics->Scrape(head);
               if (!text.ok()) return Answer(res, text.status());
               res.set_content(*text, "text/plain; version=0.0.4; charset=utf-8");
             });
  server.Get("/api/nodes", [head](const httplib::Request&, httplib::Response& res) {
    auto nodes = head.ListNodes();
    Answer(res,
           nodes.ok() ? absl::StatusOr<std::string>(cli::RenderNodesJson(*nodes)) : nodes.status());
  });
  server.Get("/api/actors", [head](const httplib::Request& req, httplib::Response& res) {
    std::vector<ActorFilterTerm> filters;
    for (size_t i = 0; i < req.get_param_value_count("filter"); ++i) {
      auto term = ParseActorFilter(req.get_param_value("filter", i));
      if (!term.ok()) return Answer(res, term.status());
      filters.push_back(*std::move(term));
    }
    auto rows = cli::FetchActorRows(head, filters);
    Answer(res,
           rows.ok() ? absl::StatusOr<std::string>(cli::RenderActorsJson(*rows)) : rows.status());
  });
  server.Get(R"(/api/actors/([0-9a-zA-Z]+))",
             [head](const httplib::Request& req, httplib::Response& res) {
               auto actor = head.FindActor(req.matches[1]);
               if (!actor.ok()) return Answer(res, actor.status());
               Answer(res, cli::RenderActorJson(cli::WithCallCounts(head, *std::move(actor))));
             });
  server.Get("/api/jobs", [head](const httplib::Request&, httplib::Response& res) {
    auto jobs = head.ListJobs();
    Answer(res,
           jobs.ok() ? absl::StatusOr<std::string>(cli::RenderJobsJson(*jobs)) : jobs.status());
  });
  server.Get("/api/objects", [head](const httplib::Request&, httplib::Response& res) {
    auto view = cli::FetchObjects(head);
    Answer(res, view.ok() ? absl::StatusOr<std::string>(
                                cli::RenderObjectsJson(view->objects, view->references))
                          : view.status());
  });
}

}  // namespace weft::dashboard
