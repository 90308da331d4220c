// The raylet's TLS identity (issue 13): the files it was given, how a node talks to its head,
// and the certificate it serves under (the cluster CA's, or the operator's).

#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/certificates.h"
#include "common/cluster_tls.h"
#include "common/logging.h"
#include "common/net_address.h"
#include "common/session_dir.h"
#include "raylet/raylet.h"

namespace weft {
namespace {

// A host a raylet is dialed at, and by whom.
struct DialedHost {
  std::string host;
  std::string by;
};

// Where a raylet is dialed, so where its certificate must name (issue 14): its advertised host
// (others), and where it listens (this machine: its own workers, a head's own node, the CLI and
// drivers of its session), loopback for a wildcard.
std::vector<DialedHost> DialedHosts(const RayletOptions& options) {
  std::vector<DialedHost> hosts = {{options.advertise_host, "others reach it"}};
  const std::string local = LocalDialHost(options.host);
  if (local != options.advertise_host) hosts.push_back({local, "this machine reaches it"});
  return hosts;
}

// The first host `cert_pem` does not name of those the raylet is dialed at.
std::optional<DialedHost> FirstUncertified(const std::string& cert_pem,
                                           const RayletOptions& options) {
  for (auto& dialed : DialedHosts(options)) {
    if (!Certifies(cert_pem, dialed.host)) return dialed;
  }
  return std::nullopt;
}

// The hosts the raylet is dialed at, joined by `separator`.
std::string JoinedHosts(const RayletOptions& options, const std::string& separator) {
  std::vector<std::string> hosts;
  for (const auto& dialed : DialedHosts(options)) hosts.push_back(dialed.host);
  return absl::StrJoin(hosts, separator);
}

}  // namespace

absl::StatusOr<TransportSecurity> Raylet::GivenTlsFiles() const {
  TransportSecurity given;
  if (options_.tls_cert_file.empty()) return given;
  for (const auto& [file, field] : {std::pair{&options_.tls_ca_file, &given.ca_pem},
                                    std::pair{&options_.tls_cert_file, &given.cert_pem},
                                    std::pair{&options_.tls_key_file, &given.key_pem}}) {
    auto read = ReadFile(*file);
    if (!read.ok()) {
      return absl::NotFoundError(
          absl::StrCat("cannot read ", *file, ": ", read.status().message()));
    }
    *field = *std::move(read);
  }
  return given;
}

absl::StatusOr<TransportSecurity> Raylet::OperatorTlsFiles() const {
  auto given = GivenTlsFiles();
  if (!given.ok() || given->cert_pem.empty()) return given;
  const std::string& cert = options_.tls_cert_file;
  if (auto status = CheckKeyOf(given->cert_pem, given->key_pem); !status.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--tls-key ", options_.tls_key_file, " is not the key of ", cert, ": ", status.message()));
  }
  if (auto status = VerifyCertificate(given->ca_pem, given->cert_pem); !status.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("the certificate ", cert, " is not signed by the CA ", options_.tls_ca_file,
                     " or not valid now: ", status.message()));
  }
  // Nodes, drivers and the CLI reach the head there, and would refuse a certificate that does
  // not name it.
  if (const auto missing = FirstUncertified(given->cert_pem, options_)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "the certificate ", cert, " does not name ", missing->host, ", where ", missing->by,
        " (--advertise-address, --host): the head's certificate must name ",
        JoinedHosts(options_, " and "), " in its subjectAltName"));
  }
  return given;
}

absl::StatusOr<TransportSecurity> Raylet::HeadSecurity() const {
  auto given = GivenTlsFiles();
  if (!given.ok()) return given.status();
  ClusterEndpoint head{.head_address = options_.head_address,
                       .token = options_.token,
                       .ca_pem = given->ca_pem,
                       .cert_pem = given->cert_pem,
                       .key_pem = given->key_pem,
                       .cert_given = options_.tls_cert_file};
  return ClientSecurityFor(head, options_.insecure, /*learn_mode=*/true, /*patient=*/true);
}

absl::Status Raylet::SetUpTls() {
  const std::vector<std::string> hosts = HostsToCertify(options_.host, options_.advertise_host);
  absl::StatusOr<TransportSecurity> security;
  if (head_ && !head_security_.cert_pem.empty()) {
    security = head_security_;  // the operator's (checked by OperatorTlsFiles)
    security->mutual = head_->mutual_tls();
    head_->ServeUnder(security->cert_pem);
  } else if (head_) {
    const Identity& ca = head_->authority();
    auto identity = IssueIdentity(
        ca, {.name = absl::StrCat("weft head ", head_->cluster_id()), .hosts = hosts});
    if (!identity.ok()) return identity.status();
    security = TransportSecurity{.ca_pem = ca.cert_pem,
                                 .cert_pem = identity->cert_pem,
                                 .key_pem = identity->key_pem,
                                 .mutual = head_->mutual_tls()};
    head_->ServeUnder(identity->cert_pem);
  } else if (!head_security_.cert_pem.empty()) {
    // Its own certificate (--tls-cert): the head, drivers and other workers reach it at its
    // advertised host, its own workers where it listens; they would refuse a certificate that
    // does not name those.
    if (const auto missing = FirstUncertified(head_security_.cert_pem, options_)) {
      return absl::InvalidArgumentError(
          absl::StrCat("the certificate ", options_.tls_cert_file, " does not name ", missing->host,
                       ", where ", missing->by, ": issue one with `weft certificate issue --host ",
                       JoinedHosts(options_, " --host "),
                       "` on the head's machine (or from the operator's CA)"));
    }
    security = head_security_;
  } else {
    security = JoinClusterTls(options_.head_address, options_.token,
                              {.ca_pem = head_security_.ca_pem}, "weft node", hosts);
  }
  if (!security.ok()) return security.status();
  // Where this raylet's workers, and drivers and the CLI on this session, find them.
  if (auto written = WriteTlsFiles(session_.TlsDir(), *security); !written.ok()) return written;
  SetTransportSecurity(*std::move(security));
  spdlog::info("TLS on every connection; the cluster CA is {}/ca.pem", session_.TlsDir());
  return absl::OkStatus();
}

}  // namespace weft
