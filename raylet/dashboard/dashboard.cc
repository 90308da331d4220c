#include "raylet/dashboard/dashboard.h"

#include <httplib.h>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "cli/cluster_views.h"
#include "cli/job_render.h"
#include "cli/render.h"
#include "raylet/dashboard/dashboard_assets.h"
#include "raylet/dashboard/dashboard_auth.h"
#include "raylet/dashboard/node_metrics.h"

namespace weft::dashboard {
namespace {

// What was fetched, rendered (as JSON unless said otherwise), or why it could not be.
template <typename T, typename Render>
void Answer(httplib::Response& res, const absl::StatusOr<T>& fetched, Render render,
            const char* content_type = "application/json") {
  if (!fetched.ok()) return AnswerError(res, fetched.status());
  res.set_content(render(*fetched), content_type);
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

// ?stream=stdout|stderr (stdout) &offset=N (-65536: the last 64 KiB) of /api/actors/ID/log.
absl::StatusOr<proto::ReadLogRequest> LogRequest(const httplib::Request& req) {
  proto::ReadLogRequest request;
  const std::string stream = req.has_param("stream") ? req.get_param_value("stream") : "stdout";
  if (stream != "stdout" && stream != "stderr") {
    return absl::InvalidArgumentError("stream must be stdout or stderr");
  }
  request.set_stream(stream == "stdout" ? proto::LOG_STDOUT : proto::LOG_STDERR);
  int64_t offset = -64 * 1024;
  if (req.has_param("offset") && !absl::SimpleAtoi(req.get_param_value("offset"), &offset)) {
    return absl::InvalidArgumentError("offset must be a number of bytes");
  }
  request.set_offset(offset);
  return request;
}

// The log of the worker that hosts actor `id` (its id or a unique prefix), read by its node.
absl::StatusOr<proto::ReadLogReply> ReadActorLog(const cli::HeadClient& head, const std::string& id,
                                                 proto::ReadLogRequest request) {
  auto actor = head.FindActor(id);
  if (!actor.ok()) return actor.status();
  if (actor->worker_id().empty()) {
    return absl::FailedPreconditionError(
        absl::StrCat("actor ", actor->actor_id(), " has no worker yet: no log to show"));
  }
  auto nodes = head.ListNodes();
  if (!nodes.ok()) return nodes.status();
  for (const auto& node : nodes->nodes()) {
    if (node.node_id() != actor->node_id()) continue;
    request.set_worker_id(actor->worker_id());
    return head.ReadLog(node.address(), request);
  }
  return absl::NotFoundError(absl::StrCat("node ", actor->node_id(), " of actor ",
                                          actor->actor_id(), " is not known any more"));
}

bool IsPublic(const std::string& path) {
  return path == "/login" || path == "/dashboard.css" || path == "/favicon.svg";
}

bool WantsJson(const std::string& path) {
  return absl::StartsWith(path, "/api/") || path == "/metrics";
}

}  // namespace

Dashboard::Dashboard(DashboardOptions options) : options_(std::move(options)) {}

absl::StatusOr<std::unique_ptr<Dashboard>> Dashboard::Start(DashboardOptions options) {
  std::unique_ptr<Dashboard> dashboard(new Dashboard(std::move(options)));
  const DashboardOptions& o = dashboard->options_;
  auto endpoint =
      HttpEndpoint::Start({.host = o.host,
                           .port = o.port,
                           .cert_file = o.cert_file,
                           .key_file = o.key_file,
                           .what = "the dashboard",
                           .port_flag = "--dashboard-port"},
                          [&](httplib::Server& server) { dashboard->AddRoutes(server); });
  if (!endpoint.ok()) return endpoint.status();
  dashboard->endpoint_ = *std::move(endpoint);
  return dashboard;
}

void Dashboard::AddRoutes(httplib::Server& server) {
  const bool https = !options_.cert_file.empty();
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
               Answer(
                   res, metrics->Scrape(head), [](const std::string& text) { return text; },
                   "text/plain; version=0.0.4; charset=utf-8");
             });
  server.Get("/api/prometheus_targets", [head](const httplib::Request&, httplib::Response& res) {
    Answer(res, head.ListNodes(), NodeMetrics::Targets);
  });
  server.Get("/api/nodes", [head](const httplib::Request&, httplib::Response& res) {
    Answer(res, head.ListNodes(), cli::RenderNodesJson);
  });
  server.Get("/api/actors", [head](const httplib::Request& req, httplib::Response& res) {
    std::vector<ActorFilterTerm> filters;
    for (size_t i = 0; i < req.get_param_value_count("filter"); ++i) {
      auto term = ParseActorFilter(req.get_param_value("filter", i));
      if (!term.ok()) return AnswerError(res, term.status());
      filters.push_back(*std::move(term));
    }
    Answer(res, cli::FetchActorRows(head, filters), cli::RenderActorsJson);
  });
  server.Get(R"(/api/actors/([0-9a-zA-Z]+))",
             [head](const httplib::Request& req, httplib::Response& res) {
               Answer(res, head.FindActor(req.matches[1]), [&head](const proto::ActorInfo& actor) {
                 return cli::RenderActorJson(cli::WithCallCounts(head, actor));
               });
             });
  server.Get(R"(/api/actors/([0-9a-zA-Z]+)/log)",
             [head](const httplib::Request& req, httplib::Response& res) {
               auto request = LogRequest(req);
               if (!request.ok()) return AnswerError(res, request.status());
               auto log = ReadActorLog(head, req.matches[1], *std::move(request));
               if (!log.ok()) return AnswerError(res, log.status());
               res.set_header("X-Log-Offset", std::to_string(log->offset()));
               res.set_header("X-Log-Size", std::to_string(log->size()));
               res.set_content(log->data(), "text/plain; charset=utf-8");
             });
  server.Get("/api/jobs", [head](const httplib::Request&, httplib::Response& res) {
    Answer(res, head.ListJobs(), cli::RenderJobsJson);
  });
  server.Get("/api/objects", [head](const httplib::Request&, httplib::Response& res) {
    Answer(res, cli::FetchObjects(head), [](const cli::ObjectsView& view) {
      return cli::RenderObjectsJson(view.objects, view.references);
    });
  });
}

}  // namespace weft::dashboard
