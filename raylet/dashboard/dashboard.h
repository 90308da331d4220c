#pragma once

#include <memory>
#include <string>
#include <thread>

#include "absl/status/statusor.h"
#include "absl/synchronization/notification.h"
#include "common/auth.h"
#include "raylet/dashboard/head_metrics.h"

namespace httplib {
class Server;
}

namespace weft::dashboard {

struct DashboardOptions {
  std::string host = "127.0.0.1";        // the head's listen host
  int port = 8265;                       // 0: any free port
  std::string head_address;              // where this machine reaches the head's gRPC server
  std::string token;                     // the cluster token it was started with (rotations follow)
  const TokenAuth* auth = nullptr;       // which tokens a browser may log in with now
  const HeadMetrics* metrics = nullptr;  // served at /metrics
  // HTTPS under this certificate and key (PEM), when the cluster uses TLS: the token is never
  // typed into a plaintext page beyond loopback.
  std::string cert_pem;
  std::string key_pem;
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
//   GET  /api/jobs         weft list jobs --format json
//   GET  /api/objects      weft list objects --format json
//   GET  /metrics          Prometheus text format (head_metrics.h)
//
// Errors are JSON {"error": message} with 400, 401, 404, 503 (head unreachable) or 500.
class Dashboard {
 public:
  // Binds and starts serving on its own threads. UNAVAILABLE when the port cannot be bound;
  // INVALID_ARGUMENT for a certificate or key that does not parse.
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<Dashboard>> Start(DashboardOptions options);
  ~Dashboard();  // stops serving; requests in progress finish first
  Dashboard(const Dashboard&) = delete;
  Dashboard& operator=(const Dashboard&) = delete;

  int port() const { return port_; }
  // http(s)://host:port/ where this machine opens it.
  const std::string& url() const { return url_; }

 private:
  explicit Dashboard(DashboardOptions options);
  void AddRoutes();

  const DashboardOptions options_;
  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
  absl::Notification served_;  // the serving loop has returned
  int port_ = 0;
  std::string url_;
};

}  // namespace weft::dashboard
