#include <hiredis/hiredis.h>

#include <algorithm>

#include <unistd.h>

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
#include "common/process.h"
#include "common/rpc.h"
#include "common/session_dir.h"
#include "raylet/head/storage/table_store.h"

namespace weft::head {
namespace {

// Each table is one Redis hash, "weft:<table>", with a row per field: a batch is one Lua
// script, applied all or none, and only while this head holds the store's lease. Durable as
// Redis is configured to be (appendonly with appendfsync always keeps every acknowledged change
// through a Redis crash).
constexpr char kKeyPrefix[] = "weft:";
constexpr char kOwnerKey[] = "weft:owner";
constexpr char kNotOwner[] = "WEFT-NOT-OWNER";

// KEYS: the owner key, then one table key per change; ARGV: this head's lease, then per change
// "set" or "del", the row's key and its value (empty for "del"). Refused with kNotOwner and the
// holder when this head does not hold the lease.
constexpr char kApplyScript[] = R"lua(
local holder = redis.call('GET', KEYS[1])
if holder ~= ARGV[1] then
  return redis.error_reply('WEFT-NOT-OWNER ' .. tostring(holder))
end
for i = 2, #KEYS do
  local at = 2 + (i - 2) * 3
  if ARGV[at] == 'set' then
    redis.call('HSET', KEYS[i], ARGV[at + 1], ARGV[at + 2])
  else
    redis.call('HDEL', KEYS[i], ARGV[at + 1])
  end
end
return 1
)lua";
// Extends this head's lease (ARGV[1]) by ARGV[2] ms, or takes a lease that ran out with no one
// taking it; else returns the holder's lease.
constexpr char kRenewScript[] = R"lua(
local holder = redis.call('GET', KEYS[1])
if holder and holder ~= ARGV[1] then return holder end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1
)lua";
// Replaces the lease ARGV[2] (of a head that is gone) by ARGV[1] for ARGV[3] ms.
constexpr char kTakeOverScript[] = R"lua(
if redis.call('GET', KEYS[1]) ~= ARGV[2] then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[3])
return 1
)lua";
constexpr char kReleaseScript[] = R"lua(
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
)lua";

// A head's lease on the store: "<machine>|<pid>|<host name>|<session dir>|<nonce>", where
// <machine> (boot id and pid namespace) says whether <pid> is a process this head can see.
struct Lease {
  std::string machine;
  pid_t pid = 0;
  std::string host;
  std::string session_dir;

  static std::string ThisMachine() {
    std::string boot = ReadFile("/proc/sys/kernel/random/boot_id").value_or("");
    char pid_ns[128] = {};
    const ssize_t n = readlink("/proc/self/ns/pid", pid_ns, sizeof(pid_ns) - 1);
    return absl::StrCat(absl::StripAsciiWhitespace(boot), "/", n > 0 ? pid_ns : "");
  }
  static std::string Mine(const std::string& session_dir) {
    char host[256] = {};
    gethostname(host, sizeof(host) - 1);
    return absl::StrJoin(
        {ThisMachine(), std::to_string(getpid()), std::string(host), session_dir, RandomHex(8)},
        "|");
  }
  static Lease Parse(const std::string& value) {
    std::vector<std::string> parts = absl::StrSplit(value, '|');
    Lease lease;
    if (parts.size() < 4) return lease;
    lease.machine = parts[0];
    if (!absl::SimpleAtoi(parts[1], &lease.pid)) lease.pid = 0;
    lease.host = parts[2];
    lease.session_dir = parts[3];
    return lease;
  }
  // A head that ran here and whose process is gone renews nothing.
  bool Gone() const { return machine == ThisMachine() && pid > 0 && !ProcessAlive(pid); }
  std::string Describe() const {
    return absl::StrCat("the head of pid ", pid, " on ", host, ", session dir ", session_dir);
  }
};

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
        lease_(Lease::Mine(ownership.session_dir)),
        on_lost_(std::move(ownership.on_lost)) {}
  ~RedisStore() override {
    {
      absl::MutexLock lock(&mu_);
      stopping_ = true;
    }
    if (renewer_.joinable()) renewer_.join();
    absl::MutexLock lock(&mu_);
    if (held_ && !lost_) {  // the next head need not wait for the lease to run out
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
    const std::string ms = std::to_string(absl::ToInt64Milliseconds(kRedisOwnerLease));
    const absl::Time give_up = absl::Now() + kRedisOwnerLease + absl::Seconds(2);
    bool told = false;
    absl::MutexLock lock(&mu_);
    while (!held_) {
      auto taken = Command({"SET", kOwnerKey, lease_, "NX", "PX", ms});
      if (!taken.ok()) return taken.status();
      if ((*taken)->type == REDIS_REPLY_STATUS) break;  // OK
      auto holder = Command({"GET", kOwnerKey});
      if (!holder.ok()) return holder.status();
      if ((*holder)->type != REDIS_REPLY_STRING) continue;  // ran out meanwhile
      const std::string value((*holder)->str, (*holder)->len);
      const Lease other = Lease::Parse(value);
      if (other.Gone()) {
        auto swapped = Command({"EVAL", kTakeOverScript, "1", kOwnerKey, lease_, value, ms});
        if (!swapped.ok()) return swapped.status();
        if ((*swapped)->integer == 1) {
          spdlog::info("head store {}: taken over from {}, whose process is gone", where_,
                       other.Describe());
          break;
        }
        continue;
      }
      if (absl::Now() > give_up) {
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
    held_ = true;
    renewer_ = std::thread([this] { Renew(); });
    return absl::OkStatus();
  }

  absl::Status Apply(const std::vector<Change>& batch) override {
    absl::MutexLock lock(&mu_);
    if (lost_) return LostError();
    std::vector<std::string> command = {"EVAL", kApplyScript, std::to_string(batch.size() + 1),
                                        kOwnerKey};
    for (const auto& change : batch) command.push_back(kKeyPrefix + change.table);
    command.push_back(lease_);
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
      Lose(error.substr(sizeof(kNotOwner)));
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
  // is tried again; the lease may run out meanwhile and is taken again if nobody took it.
  void Renew() {
    const std::string ms = std::to_string(absl::ToInt64Milliseconds(kRedisOwnerLease));
    absl::MutexLock lock(&mu_);
    bool failing = false;
    while (!mu_.AwaitWithTimeout(absl::Condition(&stopping_), kRedisOwnerLease / 5)) {
      auto renewed = Command({"EVAL", kRenewScript, "1", kOwnerKey, lease_, ms});
      if (!renewed.ok()) {
        if (!failing) spdlog::warn("cannot renew the head's lease: {}", renewed.status().message());
        failing = true;
        continue;
      }
      failing = false;
      if ((*renewed)->type == REDIS_REPLY_STRING) {
        Lose(std::string((*renewed)->str, (*renewed)->len));
        return;
      }
    }
  }

  // Another head holds the lease now (`holder`): this one must stop.
  void Lose(const std::string& holder) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (std::exchange(lost_, true)) return;
    lost_to_ = Lease::Parse(holder).Describe();
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
  const std::string lease_;  // this head's, see Lease
  const std::function<void(absl::Status)> on_lost_;
  absl::Mutex mu_;
  redisContext* context_ ABSL_GUARDED_BY(mu_) = nullptr;
  bool held_ ABSL_GUARDED_BY(mu_) = false;
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
