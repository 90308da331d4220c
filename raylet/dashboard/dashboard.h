#pragma once

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "common/auth.h"
#include "raylet/dashboard/head_metrics.h"
#include "raylet/dashboard/http_endpoint.h"

namespace weft::dashboard {

struct DashboardOptions {
  std::string host = "127.0.0.1";        // the head's listen host
  int port = 8265;                       // 0: any free port
  std::string head_address;              // where this machine reaches the head's gRPC server
  std::string token;                     // the cluster token it was started with (rotations follow)
  const TokenAuth* auth = nullptr;       // which tokens a browser may log in with now
  const HeadMetrics* metrics = nullptr;  // served at /metrics
  // HTTPS under this certificate and key (PEM files), when the cluster uses TLS: the token is
  // never typed into a plaintext page beyond loopback.
  std::string cert_file;
  std::string key_file;
};

// The head's web dashboard (issue 17): pages built into the binary (web/), and the JSON they
// poll, which is exactly what `weft list ... --format json` prints (cli/cluster_views.h). Every
// path but the login page wants the cluster token (dashboard_auth.h).
//
//   GET  /                 the single-page app (cluster, actors, jobs, objects)
//   GET  /login, POST /login (form field `token`), POST /logout
//   GET  /api/nodes        weft list nodes --format json
//   GET  /api/actors       weft list actors --format json (?filter=key=value, repeatable)
//   GET  /api/actors/ID    weft get actor ID --format json (ID or a unique prefix)
//   GET  /api/actors/ID/log  its worker's output as text (?stream=stdout|stderr, ?offset=N
//                          from where to read, negative: from the end; default the last
//                          64 KiB), headers X-Log-Offset (where the text starts) and
//                          X-Log-Size (the file's size: a follower asks from there next)
//   GET  /api/jobs         weft list jobs --format json
//   GET  /api/objects      weft list objects --format json
//   GET  /metrics          Prometheus text format (head_metrics.h)
//   GET  /api/prometheus_targets  each alive node's /metrics, for Prometheus's HTTP service
//                          discovery (node_metrics.h)
//
// Errors are JSON {"error": message} with 400, 401, 404, 503 (head unreachable) or 500.
class Dashboard {
 public:
  // Binds and starts serving on its own threads. UNAVAILABLE when the port cannot be bound;
  // INVALID_ARGUMENT for a certificate or key file that cannot be used.
  // Destroying it stops serving; requests in progress finish first.
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<Dashboard>> Start(DashboardOptions options);
  Dashboard(const Dashboard&) = delete;
  Dashboard& operator=(const Dashboard&) = delete;

  int port() const { return endpoint_->port(); }
  // http(s)://host:port/ where this machine opens it.
  const std::string& url() const { return endpoint_->url(); }

 private:
  explicit Dashboard(DashboardOptions options);
  void AddRoutes(httplib::Server& server);

  const DashboardOptions options_;
  std::unique_ptr<HttpEndpoint> endpoint_;
};

}  // namespace weft::dashboard
