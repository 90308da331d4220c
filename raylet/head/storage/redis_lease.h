#pragma once

// One head at a time on a Redis store (raylet/head/storage/redis_store.cc): the lease a head
// holds on it, the Lua scripts that take, renew, check and give it back, and what a lease says
// about its holder. Internal to the Redis store.

#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "common/process.h"
#include "common/session_dir.h"

namespace weft::head::redis_lease {

constexpr char kOwnerKey[] = "weft:owner";
// Incremented by every head that takes the lease: a head whose lease ran out may take it back
// only while no other head took it meanwhile (same epoch).
constexpr char kEpochKey[] = "weft:owner-epoch";
constexpr char kNotOwner[] = "WEFT-NOT-OWNER";
// How much longer than a lease a second head waits for the holder's to run out.
constexpr absl::Duration kSlack = absl::Seconds(2);

// The lease check every script below starts with. KEYS[1], KEYS[2]: the owner and epoch keys;
// ARGV[1]: this head's lease, ARGV[2]: its length in ms, ARGV[3]: its epoch. A lease that ran
// out (Redis cut off from this head a while) is taken back when no other head took it since.
// Sets `holder` to the lease found when this head does not hold it ('' for one that ran out).
#define WEFT_LEASE_CHECK                                           \
  "local holder = redis.call('GET', KEYS[1])\n"                    \
  "local mine = holder == ARGV[1]\n"                               \
  "if not holder and redis.call('GET', KEYS[2]) == ARGV[3] then\n" \
  "  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])\n"         \
  "  mine = true\n"                                                \
  "end\n"                                                          \
  "holder = holder or ''\n"

// Then KEYS[3...]: one table key per change; ARGV[4...]: per change "set" or "del", the row's
// key and its value (empty for "del"). Refused with kNotOwner and the holder's lease.
constexpr char kApplyScript[] = WEFT_LEASE_CHECK R"lua(
if not mine then return redis.error_reply('WEFT-NOT-OWNER ' .. holder) end
for i = 3, #KEYS do
  local at = 4 + (i - 3) * 3
  if ARGV[at] == 'set' then
    redis.call('HSET', KEYS[i], ARGV[at + 1], ARGV[at + 2])
  else
    redis.call('HDEL', KEYS[i], ARGV[at + 1])
  end
end
return 1
)lua";
// Extends this head's lease; else returns the holder's lease.
constexpr char kRenewScript[] = WEFT_LEASE_CHECK R"lua(
if not mine then return holder end
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1
)lua";
#undef WEFT_LEASE_CHECK
// KEYS: owner and epoch keys; ARGV[1]: this head's lease without its epoch, ARGV[2]: its
// length in ms, ARGV[3]: the lease of a head that is gone, replaced ('' when none is). Returns
// {1, lease with its new epoch, epoch} or {0, the holder's lease}.
constexpr char kAcquireScript[] = R"lua(
local holder = redis.call('GET', KEYS[1])
if holder and holder ~= ARGV[3] then return {0, holder} end
local epoch = tostring(redis.call('INCR', KEYS[2]))
local lease = ARGV[1] .. '|' .. epoch
redis.call('SET', KEYS[1], lease, 'PX', ARGV[2])
return {1, lease, epoch}
)lua";
constexpr char kReleaseScript[] = R"lua(
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
)lua";

// A head's lease on the store: "<machine>|<pid>|<host name>|<session dir>|<epoch>", where
// <machine> (boot id and pid namespace) says whether <pid> is a process this head can see.
struct Lease {
  std::string machine;
  pid_t pid = 0;
  std::string host;
  std::string session_dir;
  std::string epoch;

  static std::string ThisMachine() {
    const std::string boot(
        absl::StripAsciiWhitespace(ReadFile("/proc/sys/kernel/random/boot_id").value_or("")));
    char pid_ns[128] = {};
    const ssize_t n = readlink("/proc/self/ns/pid", pid_ns, sizeof(pid_ns) - 1);
    if (boot.empty() || n <= 0) return "";  // unknown: never taken for this machine
    return absl::StrCat(boot, "/", pid_ns);
  }
  // This head's lease, without its epoch.
  static std::string Mine(const std::string& session_dir) {
    char host[256] = {};
    gethostname(host, sizeof(host) - 1);
    return absl::StrJoin({ThisMachine(), std::to_string(getpid()), std::string(host), session_dir},
                         "|");
  }
  static Lease Parse(const std::string& value) {
    std::vector<std::string> parts = absl::StrSplit(value, '|');
    Lease lease;
    if (parts.size() < 5) return lease;
    lease.machine = parts[0];
    if (!absl::SimpleAtoi(parts[1], &lease.pid)) lease.pid = 0;
    lease.host = parts[2];
    lease.session_dir = parts[3];
    lease.epoch = parts[4];
    return lease;
  }
  // A head that ran here and whose process is gone renews nothing. (A process of another user
  // is alive although it cannot be signalled.)
  bool Gone() const {
    if (machine.empty() || machine != ThisMachine() || pid <= 0) return false;
    if (kill(pid, 0) != 0) return errno == ESRCH;
    return !ProcessAlive(pid);  // a zombie
  }
  std::string Describe() const {
    if (pid <= 0) return "another head";
    return absl::StrCat("the head of pid ", pid, " on ", host, ", session dir ", session_dir);
  }
};

}  // namespace weft::head::redis_lease
