// The raylet's HTTP endpoints: a head's dashboard (pages, JSON, /metrics) and a node's
// /metrics, each on --host, under the raylet's certificate when the cluster uses TLS.

#include <cstdio>

#include "common/logging.h"
#include "common/session_dir.h"
#include "raylet/raylet.h"

namespace weft {

void Raylet::StartDashboard() {
  std::remove(session_.DashboardUrlPath().c_str());  // an earlier head's of this session
  if (options_.dashboard_port < 0) return;
  dashboard::DashboardOptions o{.host = options_.host,
                                .port = options_.dashboard_port,
                                .head_address = local_address_,
                                .token = options_.token,
                                .auth = &auth_,
                                .metrics = head_metrics_.get()};
  if (options_.tls) {  // served under the head's own certificate, as SetUpTls wrote it
    o.cert_file = session_.TlsDir() + "/cert.pem";
    o.key_file = session_.TlsDir() + "/key.pem";
  }
  auto started = dashboard::Dashboard::Start(o);
  if (!started.ok() && options_.dashboard_port_fallback && o.port != 0) {
    spdlog::warn("dashboard: {}; serving it on a free port instead", started.status().message());
    o.port = 0;
    started = dashboard::Dashboard::Start(o);
  }
  if (!started.ok()) {
    spdlog::warn("no dashboard: {}", started.status().message());
    return;
  }
  dashboard_ = *std::move(started);
  if (auto written = WriteFileAtomic(session_.DashboardUrlPath(), dashboard_->url() + "\n");
      !written.ok()) {
    spdlog::warn("cannot record the dashboard's address: {}", written.message());
  }
}

void Raylet::StartNodeMetrics() {
  node_metrics_.reset();  // a retired node's
  if (options_.metrics_port < 0) return;
  dashboard::NodeMetricsOptions o{.http = {.host = options_.host,
                                           .port = options_.metrics_port,
                                           .what = "the node's metrics",
                                           .port_flag = "--metrics-port"},
                                  .auth = &auth_,
                                  .node_id = node_->id(),
                                  .node_address = local_address_,
                                  .token = options_.token};
  if (options_.tls) {  // served under the raylet's own certificate, as SetUpTls wrote it
    o.http.cert_file = session_.TlsDir() + "/cert.pem";
    o.http.key_file = session_.TlsDir() + "/key.pem";
  }
  auto started = dashboard::NodeMetrics::Start(std::move(o));
  if (!started.ok()) {
    spdlog::warn("no /metrics for this node: {}", started.status().message());
    return;
  }
  node_metrics_ = *std::move(started);
}

}  // namespace weft
