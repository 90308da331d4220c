#include "raylet/head/token_rotation_service.h"

#include <algorithm>
#include <future>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/logging.h"
#include "common/rpc.h"
#include "common/status.h"
#include "common/token_holder.h"

namespace weft::head {
namespace {

constexpr absl::Duration kMinGrace = absl::Seconds(2);
constexpr absl::Duration kMaxGrace = absl::Hours(1);
// A node answers once its workers have (each within kControlRpcTimeout).
constexpr std::chrono::milliseconds kNodeAnswer = 2 * kControlRpcTimeout;

// Tells the nodes (which tell their workers) and the drivers, at once.
std::pair<TokenPassed, TokenPassed> HandOn(const std::vector<std::string>& nodes,
                                           const std::vector<std::string>& drivers,
                                           const std::string& from, const TokenRotation& rotation) {
  auto to_drivers = std::async(
      std::launch::async, [&] { return PassTokenOn(drivers, from, rotation, kControlRpcTimeout); });
  TokenPassed to_nodes = PassTokenOn(nodes, from, rotation, kNodeAnswer);
  return {std::move(to_nodes), to_drivers.get()};
}

}  // namespace

TokenRotationService::~TokenRotationService() {
  std::thread thread;
  {
    absl::MutexLock lock(&mu_);
    thread.swap(handing_on_);
  }
  if (thread.joinable()) thread.join();
}

void TokenRotationService::KeepTokenIn(std::vector<std::string> files) {
  absl::MutexLock lock(&mu_);
  files_ = std::move(files);
}

absl::Status TokenRotationService::WriteTokenFiles(const std::string& token) {
  for (const auto& file : files_) {
    if (auto written = WriteTokenFile(file, token); !written.ok()) {
      return absl::InternalError(
          absl::StrCat("cannot write the new token to ", file, ": ", written.message()));
    }
  }
  return absl::OkStatus();
}

grpc::ServerUnaryReactor* TokenRotationService::RotateToken(grpc::CallbackServerContext* ctx,
                                                            const proto::RotateTokenRequest* req,
                                                            proto::RotateTokenReply* rep) {
  if (auto* r = auth_.Reject(ctx)) return r;
  const absl::Duration grace = absl::Milliseconds(req->grace_ms());
  if (grace < kMinGrace || grace > kMaxGrace) {
    return FinishWith(
        ctx, absl::InvalidArgumentError(absl::StrCat("the grace period (--grace) must be between ",
                                                     absl::FormatDuration(kMinGrace), " and ",
                                                     absl::FormatDuration(kMaxGrace))));
  }
  absl::MutexLock lock(&mu_);
  if (!until_loaded_) {
    // Rotated before this head started (it was started again during the grace)?
    until_loaded_ = true;
    if (auto rows = parts_.store.Load(kClusterTable); rows.ok()) {
      for (const auto& [key, value] : *rows) {
        int64_t until_ms = 0;
        if (key == "token_rotation_until" && absl::SimpleAtoi(value, &until_ms)) {
          under_way_until_ = absl::FromUnixMillis(until_ms);
        }
      }
    }
  }
  const absl::Time now = absl::Now();
  if (now < under_way_until_) {
    return FinishWith(
        ctx, absl::FailedPreconditionError(absl::StrCat(
                 "a token rotation is under way: the old token is accepted for "
                 "another ",
                 absl::FormatDuration(absl::Ceil(under_way_until_ - now, absl::Seconds(1))),
                 "; rotate again after that")));
  }
  // Every process holds the newest token: no rotation is under way.
  const std::string from = TokenStateOf(token_).token;
  const std::string to = GenerateToken();
  const TokenRotation rotation{.to = to, .send_at = now + grace / 2, .refuse_old_at = now + grace};
  std::vector<TableStore::Change> rows = {
      {kClusterTable, "token_sha256", TokenFingerprint(to)},
      {kClusterTable, "token_rotation_until",
       std::to_string(absl::ToUnixMillis(rotation.refuse_old_at))}};
  if (!parts_.authority.key_pem.empty()) {
    auto sealed = SealWithToken(to, parts_.authority.key_pem);
    if (!sealed.ok()) return FinishWith(ctx, sealed.status());
    rows.push_back({kClusterTable, "ca_key_sealed", *std::move(sealed)});
  }
  // Files first, then the store: a head started again reads the file and checks it against the
  // store; a store that fails puts the old token back in the files.
  if (auto written = WriteTokenFiles(to); !written.ok()) {
    (void)WriteTokenFiles(from);
    return FinishWith(ctx, written);
  }
  if (auto stored = Persist(&parts_.store, rows); !stored.ok()) {
    (void)WriteTokenFiles(from);
    return FinishWith(ctx, stored);
  }
  if (auto adopted = AdoptTokenRotation(from, rotation); !adopted.ok()) {
    return FinishWith(ctx, adopted.status());
  }
  under_way_until_ = rotation.refuse_old_at;
  spdlog::info("cluster token rotated; the old one is refused in {}", absl::FormatDuration(grace));

  std::vector<std::string> nodes, drivers;
  for (const auto& node : parts_.nodes.ListAlive()) nodes.push_back(node.address());
  for (const auto& job : parts_.jobs.List()) {
    if (job.state() == proto::JOB_RUNNING && !job.driver_address().empty()) {
      drivers.push_back(job.driver_address());
    }
  }
  rep->set_token(to);
  rep->set_refuse_old_in_ms(absl::ToInt64Milliseconds(grace));
  auto* reactor = ctx->DefaultReactor();
  if (handing_on_.joinable()) handing_on_.join();  // the last rotation's, long over
  handing_on_ = std::thread(
      [reactor, rep, from, rotation, nodes = std::move(nodes), drivers = std::move(drivers)] {
        const auto [to_nodes, to_drivers] = HandOn(nodes, drivers, from, rotation);
        rep->set_nodes(to_nodes.took);
        rep->set_workers(to_nodes.workers);
        rep->set_drivers(to_drivers.took);
        for (const auto* passed : {&to_nodes, &to_drivers}) {
          for (const auto& address : passed->unreachable) rep->add_unreachable(address);
          for (const auto& warning : passed->warnings) rep->add_warnings(warning);
        }
        // Every process reached accepts the new token: all send it from now on (the second word),
        // rather than from half the grace, so that a head started again meanwhile, which knows
        // only the new token, finds them sending it.
        TokenRotation send_now = rotation;
        send_now.send_at = absl::Now();
        (void)AdoptTokenRotation(from, send_now);
        auto reached = [](const std::vector<std::string>& all, const TokenPassed& passed) {
          std::vector<std::string> took;
          for (const auto& address : all) {
            if (std::find(passed.unreachable.begin(), passed.unreachable.end(), address) ==
                passed.unreachable.end()) {
              took.push_back(address);
            }
          }
          return took;
        };
        HandOn(reached(nodes, to_nodes), reached(drivers, to_drivers), from, send_now);
        reactor->Finish(grpc::Status::OK);
      });
  return reactor;
}

}  // namespace weft::head
