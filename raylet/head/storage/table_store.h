#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "google/protobuf/message_lite.h"

namespace weft::head {

// Where the head keeps its tables so that a restarted head finds them again (issue 12): rows of
// bytes (serialized protos) by table and key. A change is durable once Apply returns: the head
// acknowledges a change only after that. Implementations: SQLite (embedded, the default) and,
// later, Redis (a head that moves to another machine).
class TableStore {
 public:
  // One row written (value) or deleted (no value).
  struct Change {
    std::string table;
    std::string key;
    std::optional<std::string> value;
  };
  using Rows = std::vector<std::pair<std::string, std::string>>;  // key, value; in key order

  virtual ~TableStore() = default;
  // Applies every change of `batch`, all or none, durably (it survives the head's process being
  // killed once this returns).
  [[nodiscard]] virtual absl::Status Apply(const std::vector<Change>& batch) = 0;
  // Every row of `table`.
  [[nodiscard]] virtual absl::StatusOr<Rows> Load(const std::string& table) = 0;
};

// The head's tables (raylet/head/head.cc says what each row holds).
inline constexpr char kClusterTable[] = "cluster";
inline constexpr char kJobsTable[] = "jobs";
inline constexpr char kActorsTable[] = "actors";           // ActorInfo
inline constexpr char kActorSpecsTable[] = "actor_specs";  // ActorSpec, while not DEAD
inline constexpr char kNodesTable[] = "nodes";
inline constexpr char kObjectsTable[] = "objects";

// A change that writes `message` as row `key` of `table`.
inline TableStore::Change RowOf(std::string table, std::string key,
                                const google::protobuf::MessageLite& message) {
  return {std::move(table), std::move(key), message.SerializeAsString()};
}

// Applies `batch`; OK at once without a store (a table that is not persisted). UNAVAILABLE,
// naming the first row, when the store fails: the change must not be acknowledged.
inline absl::Status Persist(TableStore* store, const std::vector<TableStore::Change>& batch) {
  if (!store || batch.empty()) return absl::OkStatus();
  if (auto stored = store->Apply(batch); !stored.ok()) {
    return absl::UnavailableError(absl::StrCat("the head cannot store ", batch.front().table, " ",
                                               batch.front().key, ": ", stored.message()));
  }
  return absl::OkStatus();
}

// Every row of `table` parsed as a `Message`; DATA_LOSS naming the row when one does not parse.
template <typename Message>
absl::StatusOr<std::vector<Message>> LoadMessages(TableStore& store, const std::string& table) {
  auto rows = store.Load(table);
  if (!rows.ok()) return rows.status();
  std::vector<Message> out;
  out.reserve(rows->size());
  for (const auto& [key, value] : *rows) {
    if (!out.emplace_back().ParseFromString(value)) {
      return absl::DataLossError(absl::StrCat("row '", key, "' of table '", table,
                                              "' in the head's store does not parse"));
    }
  }
  return out;
}

// A store in Redis at `url` (redis://[:password@]host[:port][/db]), for a head that must be
// able to move to another machine: each table a hash "weft:<table>", each batch a MULTI/EXEC.
// `password` (when not empty) replaces the URL's. With `set_aside` not empty, the tables found
// there are first renamed "weft:discarded-<set_aside>:<table>" (a new cluster starts).
// UNAVAILABLE when Redis cannot be reached or refuses the password.
//
// One head at a time: the store is held through a lease ("weft:owner", kRedisOwnerLease,
// renewed by the store every fifth of it), and every write is applied only while this head
// holds it (one Lua script checks and writes). Opening waits for a lease left by a head that
// is gone to run out (at once when that head ran on this machine and its process is gone),
// and fails with FAILED_PRECONDITION, naming the holder, when the lease is still renewed after
// that. A head whose lease was taken over (it was stopped or cut off longer than the lease)
// learns it at its next renewal or write: `on_lost` runs once (on any thread; it must not call
// back into the store) and every later write fails.
struct RedisOwnership {
  std::string session_dir;  // for messages: where this head runs
  std::function<void(absl::Status why)> on_lost;
};
inline constexpr absl::Duration kRedisOwnerLease = absl::Seconds(5);
absl::StatusOr<std::unique_ptr<TableStore>> OpenRedisStore(const std::string& url,
                                                           const std::string& password,
                                                           const std::string& set_aside,
                                                           RedisOwnership ownership);

// A store that keeps nothing past the head's process (`--storage memory`): a head restart loses
// the cluster, as before issue 12. For measuring what storing costs, and for throw-away
// clusters.
std::unique_ptr<TableStore> NewMemoryStore();

// The embedded store: one SQLite file at `path`, made if missing. A file that is not a sound
// store (corrupted, truncated, not SQLite) is refused with DATA_LOSS naming it, never emptied.
absl::StatusOr<std::unique_ptr<TableStore>> OpenSqliteStore(const std::string& path);

}  // namespace weft::head
