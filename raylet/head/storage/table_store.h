#pragma once

#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

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

// The embedded store: one SQLite file at `path`, made if missing. A file that is not a sound
// store (corrupted, truncated, not SQLite) is refused with DATA_LOSS naming it, never emptied.
absl::StatusOr<std::unique_ptr<TableStore>> OpenSqliteStore(const std::string& path);

}  // namespace weft::head
