#include <algorithm>
#include <map>

#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "raylet/head/storage/table_store.h"

namespace weft::head {
namespace {

class MemoryStore final : public TableStore {
 public:
  absl::Status Apply(const std::vector<Change>& batch) override {
    absl::MutexLock lock(&mu_);
    for (const auto& change : batch) {
      if (change.value) {
        tables_[change.table][change.key] = *change.value;
      } else {
        tables_[change.table].erase(change.key);
      }
    }
    return absl::OkStatus();
  }

  absl::StatusOr<Rows> Load(const std::string& table) override {
    absl::MutexLock lock(&mu_);
    Rows rows;
    for (const auto& row : tables_[table]) rows.push_back(row);
    std::sort(rows.begin(), rows.end());  // in key order, as every store loads
    return rows;
  }

 private:
  absl::Mutex mu_;
  // Hashed, not ordered: every change of every row goes through here (a head creating actors
  // writes each three times), and a load, rare, sorts.
  std::map<std::string, absl::flat_hash_map<std::string, std::string>> tables_ ABSL_GUARDED_BY(mu_);
};

}  // namespace

std::unique_ptr<TableStore> NewMemoryStore() { return std::make_unique<MemoryStore>(); }

}  // namespace weft::head
