#include <hiredis/hiredis.h>

#include <algorithm>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "common/rpc.h"
#include "raylet/head/storage/table_store.h"

namespace weft::head {
namespace {

// Each table is one Redis hash, "weft:<table>", with a row per field: a batch is one MULTI/EXEC
// transaction, applied all or none. Durable as Redis is configured to be (appendonly with
// appendfsync always keeps every acknowledged change through a Redis crash).
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
  RedisStore(Endpoint endpoint, std::string where)
      : endpoint_(std::move(endpoint)), where_(std::move(where)) {}
  ~RedisStore() override {
    if (context_) redisFree(context_);
  }

  absl::Status ConnectLocked() {
    absl::MutexLock lock(&mu_);
    return Connect();
  }

  absl::Status Apply(const std::vector<Change>& batch) override {
    absl::MutexLock lock(&mu_);
    std::vector<std::vector<std::string>> commands = {{"MULTI"}};
    for (const auto& change : batch) {
      const std::string key = kKeyPrefix + change.table;
      if (change.value) {
        commands.push_back({"HSET", key, change.key, *change.value});
      } else {
        commands.push_back({"HDEL", key, change.key});
      }
    }
    commands.push_back({"EXEC"});
    auto replies = Pipeline(commands);
    if (!replies.ok()) return replies.status();
    const redisReply* exec = replies->back().get();
    if (exec->type != REDIS_REPLY_ARRAY) {  // nil: aborted; an error: a command was refused
      return absl::UnavailableError(absl::StrCat(
          "head store ", where_,
          ": the transaction was not applied: ", exec->type == REDIS_REPLY_ERROR ? exec->str : ""));
    }
    // Redis does not undo the rest of a transaction when one command fails (a key of another
    // type): reported, never taken for a change kept.
    for (size_t i = 0; i < exec->elements; ++i) {
      if (exec->element[i]->type == REDIS_REPLY_ERROR) {
        return absl::DataLossError(absl::StrCat("head store ", where_, ": ", commands[i + 1][0],
                                                " ", commands[i + 1][1],
                                                " failed: ", exec->element[i]->str));
      }
    }
    return absl::OkStatus();
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
  // made again and the whole pipeline sent once more (a MULTI cut short was never applied; one
  // applied whose answer was lost is applied again, the same rows written twice).
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
      const bool queued_error = commands[i][0] != "EXEC" && reply->type == REDIS_REPLY_ERROR;
      if (queued_error) {
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
  absl::Mutex mu_;
  redisContext* context_ ABSL_GUARDED_BY(mu_) = nullptr;
};

}  // namespace

absl::StatusOr<std::unique_ptr<TableStore>> OpenRedisStore(const std::string& url,
                                                           const std::string& password,
                                                           const std::string& set_aside) {
  auto endpoint = ParseUrl(url);
  if (!endpoint.ok()) return endpoint.status();
  if (!password.empty()) endpoint->password = password;
  const std::string where =
      absl::StrCat("redis://", JoinHostPort(endpoint->host, endpoint->port), "/", endpoint->db);
  auto store = std::make_unique<RedisStore>(*std::move(endpoint), where);
  if (auto connected = store->ConnectLocked(); !connected.ok()) return connected;
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
