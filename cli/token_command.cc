// weft token rotate: gives the running cluster a new token without restarting anything; the
// old one is refused once the grace period is over (issue 13).

#include <iostream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"
#include "cli/command.h"
#include "common/auth.h"
#include "common/rpc.h"
#include "common/status.h"
#include "token.grpc.pb.h"

namespace weft::cli {
namespace {

constexpr absl::Duration kMinGrace = absl::Seconds(2);
constexpr absl::Duration kMaxGrace = absl::Hours(1);
// The head answers once its nodes (each once its workers) and drivers have.
constexpr auto kRotateTimeout = std::chrono::seconds(30);

struct RotateOptions {
  ClusterFlags cluster;
  std::string grace = "60s";
  std::string write_token;  // empty: the file the token was read from
};

std::string Count(int n, const char* what) { return absl::StrCat(n, " ", what, n == 1 ? "" : "s"); }

absl::Status RunRotate(const RotateOptions& o) {
  absl::Duration grace;
  if (!absl::ParseDuration(o.grace, &grace) || grace < kMinGrace || grace > kMaxGrace) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--grace ", o.grace, ": give a duration between ", absl::FormatDuration(kMinGrace), " and ",
        absl::FormatDuration(kMaxGrace), ", e.g. 30s or 5m"));
  }
  auto endpoint = ResolveAndSecure(o.cluster);
  if (!endpoint.ok()) return endpoint.status();
  const std::string file = o.write_token.empty() ? endpoint->token_file : o.write_token;
  if (file.empty()) {
    return absl::FailedPreconditionError(
        "the token came from $WEFT_TOKEN: pass --write-token FILE to keep the new one");
  }
  // Where the new token goes must take it: checked before anything changes.
  if (auto writable = WriteTokenFile(file, endpoint->token); !writable.ok()) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot keep the new token in ", file, ": ", writable.message()));
  }
  auto stub = proto::TokenRotation::NewStub(MakeChannel(endpoint->head_address, endpoint->token));
  grpc::ClientContext context;
  SetTimeout(context, kRotateTimeout);
  proto::RotateTokenRequest request;
  request.set_grace_ms(absl::ToInt64Milliseconds(grace));
  proto::RotateTokenReply reply;
  if (auto status = FromGrpcStatus(stub->RotateToken(&context, request, &reply)); !status.ok()) {
    const bool unknown = status.code() == absl::StatusCode::kDeadlineExceeded ||
                         status.code() == absl::StatusCode::kUnavailable;
    return absl::Status(
        status.code(),
        unknown ? absl::StrCat("no answer from the head at ", endpoint->head_address, ": ",
                               status.message(),
                               "; it may have rotated the token: its session's token file holds "
                               "the one in force")
                : absl::StrCat("the head at ", endpoint->head_address,
                               " did not rotate the token: ", status.message()));
  }
  if (auto written = WriteTokenFile(file, reply.token()); !written.ok()) {
    return absl::InternalError(absl::StrCat("the token was rotated, but it cannot be written to ",
                                            file, ": ", written.message(),
                                            "; the head keeps it in its session's token file"));
  }
  std::cout << "token rotated: the new token is in " << file << "\n"
            << "taken by " << Count(reply.nodes(), "node") << ", "
            << Count(reply.workers(), "worker") << " and " << Count(reply.drivers(), "driver")
            << "; the old token is refused in "
            << absl::FormatDuration(absl::Milliseconds(reply.refuse_old_in_ms())) << "\n";
  if (reply.unreachable_size() > 0) {
    std::cout << "warning: not taken by " << absl::StrJoin(reply.unreachable(), ", ")
              << ": they are refused once the grace is over; start them again with the new "
                 "token\n";
  }
  for (const auto& warning : reply.warnings()) std::cout << "warning: " << warning << "\n";
  return absl::OkStatus();
}

}  // namespace

void AddTokenCommand(CLI::App& app) {
  auto* token = app.add_subcommand("token", "The cluster token");
  token->require_subcommand(1);
  auto o = std::make_shared<RotateOptions>();
  auto* rotate = token->add_subcommand(
      "rotate",
      "Give the running cluster a new token, without restarting anything: every process takes "
      "it, and the old one is refused once the grace period is over");
  rotate->add_option("--grace", o->grace, "How long the old token is still accepted (2s to 1h)")
      ->capture_default_str();
  rotate->add_option("--write-token", o->write_token,
                     "Where to keep the new token (default: the file the old one was read from)");
  AddClusterFlags(rotate, o->cluster);
  OnRun(rotate, o, &RunRotate);
}

}  // namespace weft::cli
