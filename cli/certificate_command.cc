// weft certificate issue: a key and a certificate of the cluster's CA for a node, a driver or
// the CLI on another machine (issue 13). Under mutual TLS this is where certificates come
// from: the head signs only for a caller that shows the head's own certificate, which only
// its machine's session holds.

#include <unistd.h>

#include <filesystem>
#include <iostream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "cli/command.h"
#include "common/certificates.h"
#include "common/cluster_tls.h"

namespace weft::cli {
namespace {

constexpr uint32_t kMaxDays = 825;

struct IssueOptions {
  ClusterFlags cluster;
  std::vector<std::string> hosts;
  std::string out;
  std::string name = "weft";
  uint32_t days = 365;
};

absl::Status RunIssue(const IssueOptions& o) {
  // Before anything is asked: files already there are somebody's, and stay.
  const std::string dir = std::filesystem::absolute(o.out).string();
  for (const char* name : {"key.pem", "cert.pem", "ca.pem"}) {
    if (std::filesystem::exists(absl::StrCat(dir, "/", name))) {
      return absl::AlreadyExistsError(
          absl::StrCat(dir, "/", name, " exists: choose another --out, or remove it first"));
    }
  }
  auto endpoint = ResolveAndSecure(o.cluster);
  if (!endpoint.ok()) return endpoint.status();
  if (endpoint->ca_pem.empty()) {
    return absl::FailedPreconditionError(
        absl::StrCat("the cluster at ", endpoint->head_address,
                     " does not use TLS: it has no CA to sign with (start its head with --tls or "
                     "--mutual-tls)"));
  }
  auto issued = JoinClusterTls(
      endpoint->head_address, endpoint->token,
      {.ca_pem = endpoint->ca_pem, .cert_pem = endpoint->cert_pem, .key_pem = endpoint->key_pem},
      o.name, o.hosts, o.days);
  if (!issued.ok()) return issued.status();
  if (auto written = WriteTlsFiles(dir, *issued); !written.ok()) return written;
  std::cout << "certificate issued for " << absl::StrJoin(o.hosts, ", ") << ", valid " << o.days
            << " days: " << dir << "/cert.pem, its key " << dir
            << "/key.pem (mode 0600) and the cluster CA " << dir << "/ca.pem\n"
            << "A node:           weft start --address " << endpoint->head_address << " --tls-ca "
            << dir << "/ca.pem --tls-cert " << dir << "/cert.pem --tls-key " << dir
            << "/key.pem ...\n"
            << "A driver, the CLI: WEFT_TLS_CA=" << dir << "/ca.pem WEFT_TLS_CERT=" << dir
            << "/cert.pem WEFT_TLS_KEY=" << dir << "/key.pem\n";
  return absl::OkStatus();
}

}  // namespace

void AddCertificateCommand(CLI::App& app) {
  auto* certificate = app.add_subcommand("certificate", "The cluster's TLS certificates");
  certificate->require_subcommand(1);
  auto o = std::make_shared<IssueOptions>();
  auto* issue = certificate->add_subcommand(
      "issue",
      "Make a key and have the head sign a certificate for it, for a node, driver or CLI "
      "elsewhere. Under --mutual-tls, run it on the head's machine: the head signs only for a "
      "caller that shows its own certificate");
  issue
      ->add_option("--host", o->hosts,
                   "An IP address or DNS name the holder serves at (repeat for several, up to 16)")
      ->required();
  issue->add_option("--out", o->out, "Folder for ca.pem, cert.pem and key.pem")->required();
  issue->add_option("--name", o->name, "The certificate's common name")->capture_default_str();
  issue->add_option("--days", o->days, "How long it is valid")
      ->check(CLI::Range(uint32_t{1}, kMaxDays))
      ->capture_default_str();
  AddClusterFlags(issue, o->cluster);
  OnRun(issue, o, &RunIssue);
}

}  // namespace weft::cli
