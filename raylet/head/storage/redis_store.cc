#include <hiredis/hiredis.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <thread>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "common/ids.h"
#include "common/logging.h"
#include "common/net_address.h"
#include "common/process.h"
#include "common/rpc.h"
#include "common/session_dir.h"
#include "raylet/head/storage/redis_lease.h"
#include "raylet/head/storage/table_store.h"

namespace weft::head {
namespace {

using namespace redis_lease;  // NOLINT: the lease is this store's own

// Each table is one Redis hash, "weft:<table>", with a row per field: a batch is one Lua
// script, applied all or none, and only while this head holds the store's lease. Durable as
// Redis is configured to be (appendonly with appendfsync always keeps every acknowledged change
// through a Redis crash).
constexpr char kKeyPrefix[] = "weft:";
struct ReplyDeleter {
  void operator()(redisReply* reply) const { freeReplyObject(reply); }
};
using Reply = std::unique_ptr<redisReply, ReplyDeleter>;

struct Endpoint {
  std::string host;
  int port = 6379;
  int db = 0;
  std::string user;  // empty: the default user
  std::string password;
};

// redis://[[user]:password@]host[:port][/db]
absl::StatusOr<Endpoint> ParseUrl(const std::string& url) {
  const absl::string_view scheme = "redis://";
  absl::string_view rest = absl::string_view(url);
  // For messages: the URL without its credentials.
  const size_t at_sign = rest.rfind('@');
  const std::string where =
      at_sign == absl::string_view::npos ? url : absl::StrCat(scheme, rest.substr(at_sign + 1));
  if (!absl::StartsWith(url, scheme)) {
    return absl::InvalidArgumentError(absl::StrCat("not a redis:// URL: ", where));
  }
  rest.remove_prefix(scheme.size());
  Endpoint endpoint;
  if (const size_t at = rest.rfind('@'); at != absl::string_view::npos) {
    absl::string_view credentials = rest.substr(0, at);
    if (const size_t colon = credentials.find(':'); colon != absl::string_view::npos) {
      endpoint.user = std::string(credentials.substr(0, colon));  // empty: the default user
      credentials.remove_prefix(colon + 1);
    }
    endpoint.password = std::string(credentials);
    rest.remove_prefix(at + 1);
  }
  if (const size_t slash = rest.find('/'); slash != absl::string_view::npos) {
    const absl::string_view db = rest.substr(slash + 1);
    if (!db.empty() && !absl::SimpleAtoi(db, &endpoint.db)) {
      return absl::InvalidArgumentError(absl::StrCat("bad database number in ", where));
    }
    rest = rest.substr(0, slash);
  }
  const size_t bracket = rest.rfind(']');  // [::1]:6379
  if (const size_t colon = rest.rfind(':');
      colon != absl::string_view::npos && (bracket == absl::string_view::npos || colon > bracket)) {
    if (!absl::SimpleAtoi(rest.substr(colon + 1), &endpoint.port) || endpoint.port <= 0 ||
        endpoint.port > 65535) {
      return absl::InvalidArgumentError(absl::StrCat("bad port in ", where));
    }
    rest = rest.substr(0, colon);
  }
  if (absl::StartsWith(rest, "[") && absl::EndsWith(rest, "]"))
    rest = rest.substr(1, rest.size() - 2);
  if (rest.empty()) return absl::InvalidArgumentError(absl::StrCat("no host in ", where));
  endpoint.host = std::string(rest);
  return endpoint;
}

// One connection, reconnected once when a command finds it broken. Thread-safe.
class RedisStore final : public TableStore {
 public:
  RedisStore(Endpoint endpoint, std::string where, RedisOwnership ownership)
      : endpoint_(std::move(endpoint)),
        where_(std::move(where)),
        mine_(Lease::Mine(ownership.session_dir)),
        on_lost_(std::move(ownership.on_lost)) {}
  ~RedisStore() override {
    {
      absl::MutexLock lock(&mu_);
      stopping_ = true;
    }
    if (renewer_.joinable()) renewer_.join();
    absl::MutexLock lock(&mu_);
    if (!lease_.empty() && !lost_) {  // the next head need not wait for the lease to run out
      (void)Command({"EVAL", kReleaseScript, "1", kOwnerKey, lease_});
    }
    if (context_) redisFree(context_);
  }

  absl::Status ConnectLocked() {
    absl::MutexLock lock(&mu_);
    return Connect();
  }

  // Takes the store's lease, waiting for one left by a head that is gone to run out, then
  // renews it until this store is destroyed.
  absl::Status Acquire() {
    const auto give_up =
        std::chrono::steady_clock::now() + absl::ToChronoMilliseconds(kRedisOwnerLease + kSlack);
    std::string gone;  // the lease of a head whose process is gone, to replace
    bool told = false;
    absl::MutexLock lock(&mu_);
    for (;;) {
      auto taken =
          Command({"EVAL", kAcquireScript, "2", kOwnerKey, kEpochKey, mine_, LeaseMs(), gone});
      if (!taken.ok()) return taken.status();
      const redisReply* reply = taken->get();
      if (reply->type == REDIS_REPLY_ERROR) return ScriptError(reply);
      if (reply->type != REDIS_REPLY_ARRAY || reply->elements < 2) {
        return absl::DataLossError(absl::StrCat("head store ", where_, ": bad lease reply"));
      }
      const std::string value(reply->element[1]->str, reply->element[1]->len);
      if (reply->element[0]->integer == 1 && reply->elements == 3) {
        lease_ = value;
        epoch_ = std::string(reply->element[2]->str, reply->element[2]->len);
        if (!gone.empty()) {
          spdlog::info("head store {}: taken over from {}, whose process is gone", where_,
                       Lease::Parse(gone).Describe());
        }
        break;
      }
      const Lease other = Lease::Parse(value);
      if (absl::StartsWith(value, mine_ + "|")) {  // taken by this head, its answer lost
        lease_ = value;
        epoch_ = other.epoch;
        break;
      }
      if (other.Gone()) {
        gone = value;
        continue;
      }
      gone.clear();
      if (std::chrono::steady_clock::now() > give_up) {
        return absl::FailedPreconditionError(absl::StrCat(
            "head store ", where_, " is held by ", other.Describe(),
            ", which keeps renewing its lease: stop that head first (or give this one other "
            "storage)"));
      }
      if (!told) {
        spdlog::warn("head store {} is held by {}: waiting up to {} for its lease to run out",
                     where_, other.Describe(), absl::FormatDuration(kRedisOwnerLease));
        told = true;
      }
      mu_.AwaitWithTimeout(absl::Condition(&stopping_), absl::Milliseconds(100));
    }
    renewed_ = std::chrono::steady_clock::now();
    renewer_ = std::thread([this] { Renew(); });
    return absl::OkStatus();
  }

  absl::Status Apply(const std::vector<Change>& batch) override {
    absl::MutexLock lock(&mu_);
    if (lost_) return LostError();
    std::vector<std::string> command = {"EVAL", kApplyScript, std::to_string(batch.size() + 2),
                                        kOwnerKey, kEpochKey};
    for (const auto& change : batch) command.push_back(kKeyPrefix + change.table);
    command.insert(command.end(), {lease_, LeaseMs(), epoch_});
    for (const auto& change : batch) {
      command.push_back(change.value ? "set" : "del");
      command.push_back(change.key);
      command.push_back(change.value.value_or(""));
    }
    auto reply = Command(command);
    if (!reply.ok()) return reply.status();
    if ((*reply)->type != REDIS_REPLY_ERROR) return absl::OkStatus();
    const std::string error((*reply)->str, (*reply)->len);
    if (absl::StartsWith(error, kNotOwner)) {
      Lose(Lease::Parse(error.substr(sizeof(kNotOwner))).Describe());
      return LostError();
    }
    // A command of the script refused (a key of another type): Redis does not undo the ones
    // before it. Reported, never taken for a change kept.
    return absl::DataLossError(absl::StrCat("head store ", where_, ": ", error));
  }

  absl::StatusOr<Rows> Load(const std::string& table) override {
    absl::MutexLock lock(&mu_);
    auto reply = Command({"HGETALL", kKeyPrefix + table});
    if (!reply.ok()) return reply.status();
    const redisReply* all = reply->get();
    if (all->type != REDIS_REPLY_ARRAY || all->elements % 2 != 0) {
      return absl::DataLossError(
          absl::StrCat("head store ", where_, ": ", kKeyPrefix, table, " is not a hash"));
    }
    Rows rows;
    for (size_t i = 0; i + 1 < all->elements; i += 2) {
      rows.emplace_back(std::string(all->element[i]->str, all->element[i]->len),
                        std::string(all->element[i + 1]->str, all->element[i + 1]->len));
    }
    std::sort(rows.begin(), rows.end());
    return rows;
  }

  // Renames every table aside ("weft:discarded-<suffix>:<table>"): the next head starts anew.
  absl::Status SetAside(const std::string& suffix, const std::vector<std::string>& tables) {
    absl::MutexLock lock(&mu_);
    for (const auto& table : tables) {
      const std::string key = kKeyPrefix + table;
      auto exists = Command({"EXISTS", key});
      if (!exists.ok()) return exists.status();
      if ((*exists)->integer == 0) continue;
      auto renamed = Command({"RENAME", key, absl::StrCat("weft:discarded-", suffix, ":", table)});
      if (!renamed.ok()) return renamed.status();
    }
    return absl::OkStatus();
  }

 private:
  // Every fifth of the lease, until stopped or the lease is lost. A Redis that does not answer
  // is tried again, but a head that could not renew for a whole lease stops (counted from when
  // its last renewal that succeeded was sent): another head may hold the store by then.
  void Renew() {
    absl::MutexLock lock(&mu_);
    bool failing = false;
    while (!mu_.AwaitWithTimeout(absl::Condition(&stopping_), kRedisOwnerLease / 5)) {
      const auto sent = std::chrono::steady_clock::now();
      auto renewed =
          Command({"EVAL", kRenewScript, "2", kOwnerKey, kEpochKey, lease_, LeaseMs(), epoch_});
      absl::Status status = renewed.status();
      if (status.ok() && (*renewed)->type == REDIS_REPLY_ERROR)
        status = ScriptError(renewed->get());
      if (status.ok() && (*renewed)->type == REDIS_REPLY_STRING) {
        return Lose(Lease::Parse(std::string((*renewed)->str, (*renewed)->len)).Describe());
      }
      if (status.ok()) {
        renewed_ = sent;
        failing = false;
        continue;
      }
      if (!failing) spdlog::warn("cannot renew the head's lease: {}", status.message());
      failing = true;
      if (sent - renewed_ > absl::ToChronoMilliseconds(kRedisOwnerLease)) {
        return Lose(absl::StrCat("whichever head reached Redis (this one could not for ",
                                 absl::FormatDuration(kRedisOwnerLease), ")"));
      }
    }
  }

  // Another head may hold the lease now (`holder`): this one must stop.
  void Lose(const std::string& holder) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (std::exchange(lost_, true)) return;
    lost_to_ = holder;
    spdlog::error("{}", LostError().message());
    if (on_lost_) on_lost_(LostError());
  }

  absl::Status LostError() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return absl::FailedPreconditionError(
        absl::StrCat("head store ", where_, " was taken over by ", lost_to_,
                     ": this head no longer serves the cluster (it was stopped or cut off "
                     "from Redis for longer than its ",
                     absl::FormatDuration(kRedisOwnerLease), " lease)"));
  }

  absl::Status ScriptError(const redisReply* reply) const {
    return absl::UnavailableError(
        absl::StrCat("head store ", where_,
                     ": Redis refused the lease script: ", std::string(reply->str, reply->len)));
  }

  static std::string LeaseMs() {
    return std::to_string(absl::ToInt64Milliseconds(kRedisOwnerLease));
  }

  // A fresh connection, authenticated and on its database; none (null) when that fails.
  absl::Status Connect() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (context_) redisFree(context_);
    // Short: the head writes under its tables' locks, and its nodes fence after a few seconds
    // without an answered heartbeat.
    const timeval timeout{1, 0};
    context_ = redisConnectWithTimeout(endpoint_.host.c_str(), endpoint_.port, timeout);
    absl::Status status = !context_ || context_->err ? Error("connect to") : absl::OkStatus();
    if (status.ok()) redisSetTimeout(context_, timeout);
    std::vector<std::vector<std::string>> setup;
    if (!endpoint_.password.empty()) {
      setup.push_back(endpoint_.user.empty()
                          ? std::vector<std::string>{"AUTH", endpoint_.password}
                          : std::vector<std::string>{"AUTH", endpoint_.user, endpoint_.password});
    }
    if (endpoint_.db != 0) setup.push_back({"SELECT", std::to_string(endpoint_.db)});
    if (status.ok() && !setup.empty()) status = PipelineOnce(setup).status();
    if (!status.ok() && context_) {
      redisFree(context_);
      context_ = nullptr;
    }
    return status;
  }

  absl::StatusOr<Reply> Command(const std::vector<std::string>& args)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    auto replies = Pipeline({args});
    if (!replies.ok()) return replies.status();
    return std::move(replies->front());
  }

  // Sends the commands in one round trip and reads every reply; a connection found broken is
  // made again and the whole pipeline sent once more (a script cut short was never run; one
  // run whose answer was lost runs again, the same rows written twice).
  absl::StatusOr<std::vector<Reply>> Pipeline(const std::vector<std::vector<std::string>>& commands)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    for (int attempt = 0;; ++attempt) {
      auto replies = PipelineOnce(commands);
      if (replies.ok() || attempt == 1 || replies.status().code() != absl::StatusCode::kUnavailable)
        return replies;
      if (auto connected = Connect(); !connected.ok()) return connected;
    }
  }

  absl::StatusOr<std::vector<Reply>> PipelineOnce(
      const std::vector<std::vector<std::string>>& commands) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (!context_ || context_->err) return Error("reach");
    for (const auto& args : commands) {
      std::vector<const char*> argv;
      std::vector<size_t> lengths;
      for (const auto& arg : args) {
        argv.push_back(arg.data());
        lengths.push_back(arg.size());
      }
      if (redisAppendCommandArgv(context_, static_cast<int>(argv.size()), argv.data(),
                                 lengths.data()) != REDIS_OK) {
        return Error("send to");
      }
    }
    std::vector<Reply> replies;
    for (size_t i = 0; i < commands.size(); ++i) {
      void* raw = nullptr;
      if (redisGetReply(context_, &raw) != REDIS_OK || !raw) return Error("read from");
      Reply reply(static_cast<redisReply*>(raw));
      // A script's error is its answer (Apply reads it); any other command's is the call's.
      if (reply->type == REDIS_REPLY_ERROR && commands[i][0] != "EVAL") {
        // Read the rest, so that the connection stays in step, then report the first error.
        const std::string message(reply->str, reply->len);
        for (size_t j = i + 1; j < commands.size(); ++j) {
          void* rest = nullptr;
          if (redisGetReply(context_, &rest) != REDIS_OK) break;
          freeReplyObject(rest);
        }
        return absl::FailedPreconditionError(
            absl::StrCat("head store ", where_, ": ", commands[i][0], ": ", message));
      }
      replies.push_back(std::move(reply));
    }
    return replies;
  }

  absl::Status Error(const char* what) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return absl::UnavailableError(absl::StrCat(
        "head store ", where_, ": cannot ", what,
        " Redis: ", context_ ? (context_->err ? context_->errstr : "no reply") : "not connected"));
  }

  const Endpoint endpoint_;
  const std::string where_;  // the URL without its password, for messages
  const std::string mine_;   // this head's lease without its epoch, see Lease
  const std::function<void(absl::Status)> on_lost_;
  absl::Mutex mu_;
  redisContext* context_ ABSL_GUARDED_BY(mu_) = nullptr;
  std::string lease_ ABSL_GUARDED_BY(mu_);  // once held
  std::string epoch_ ABSL_GUARDED_BY(mu_);
  std::chrono::steady_clock::time_point renewed_ ABSL_GUARDED_BY(mu_);  // last renewal sent
  bool lost_ ABSL_GUARDED_BY(mu_) = false;
  std::string lost_to_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::thread renewer_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<TableStore>> OpenRedisStore(const std::string& url,
                                                           const std::string& password,
                                                           const std::string& set_aside,
                                                           RedisOwnership ownership) {
  auto endpoint = ParseUrl(url);
  if (!endpoint.ok()) return endpoint.status();
  if (!password.empty()) endpoint->password = password;
  const std::string where =
      absl::StrCat("redis://", JoinHostPort(endpoint->host, endpoint->port), "/", endpoint->db);
  auto store = std::make_unique<RedisStore>(*std::move(endpoint), where, std::move(ownership));
  if (auto connected = store->ConnectLocked(); !connected.ok()) return connected;
  // Held before anything is read or set aside: never under another head.
  if (auto held = store->Acquire(); !held.ok()) return held;
  if (!set_aside.empty()) {
    if (auto aside = store->SetAside(set_aside, {kClusterTable, kJobsTable, kActorsTable,
                                                 kActorSpecsTable, kNodesTable, kObjectsTable});
        !aside.ok()) {
      return aside;
    }
  }
  return store;
}

}  // namespace weft::head
