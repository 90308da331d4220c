#include <sqlite3.h>
#include <sys/stat.h>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "raylet/head/storage/table_store.h"

namespace weft::head {
namespace {

// One connection, its statements prepared once. Thread-safe.
class SqliteStore final : public TableStore {
 public:
  SqliteStore(std::string path, sqlite3* db) : path_(std::move(path)), db_(db) {}
  ~SqliteStore() override {
    for (sqlite3_stmt* statement : {put_, erase_, load_}) sqlite3_finalize(statement);
    sqlite3_close(db_);
  }

  absl::Status Prepare() {
    const char* kPut = "INSERT OR REPLACE INTO rows (tbl, key, value) VALUES (?1, ?2, ?3)";
    const char* kErase = "DELETE FROM rows WHERE tbl = ?1 AND key = ?2";
    const char* kLoad = "SELECT key, value FROM rows WHERE tbl = ?1 ORDER BY key";
    for (auto [sql, statement] : {std::pair{kPut, &put_}, {kErase, &erase_}, {kLoad, &load_}}) {
      if (sqlite3_prepare_v2(db_, sql, -1, statement, nullptr) != SQLITE_OK)
        return Error("prepare");
    }
    return absl::OkStatus();
  }

  absl::Status Apply(const std::vector<Change>& batch) override {
    absl::MutexLock lock(&mu_);
    if (sqlite3_exec(db_, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr) != SQLITE_OK) {
      return Error("begin");
    }
    for (const auto& change : batch) {
      sqlite3_stmt* statement = change.value ? put_ : erase_;
      sqlite3_reset(statement);
      sqlite3_bind_text(statement, 1, change.table.data(), static_cast<int>(change.table.size()),
                        SQLITE_STATIC);
      sqlite3_bind_blob(statement, 2, change.key.data(), static_cast<int>(change.key.size()),
                        SQLITE_STATIC);
      if (change.value) {
        sqlite3_bind_blob(statement, 3, change.value->data(),
                          static_cast<int>(change.value->size()), SQLITE_STATIC);
      }
      if (sqlite3_step(statement) != SQLITE_DONE) {
        auto error = Error("write");
        sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
        return error;
      }
    }
    if (sqlite3_exec(db_, "COMMIT", nullptr, nullptr, nullptr) != SQLITE_OK) {
      auto error = Error("commit");
      sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
      return error;
    }
    return absl::OkStatus();
  }

  absl::StatusOr<Rows> Load(const std::string& table) override {
    absl::MutexLock lock(&mu_);
    sqlite3_reset(load_);
    sqlite3_bind_text(load_, 1, table.data(), static_cast<int>(table.size()), SQLITE_STATIC);
    Rows rows;
    int step;
    while ((step = sqlite3_step(load_)) == SQLITE_ROW) {
      auto column = [&](int i) {
        return std::string(static_cast<const char*>(sqlite3_column_blob(load_, i)),
                           static_cast<size_t>(sqlite3_column_bytes(load_, i)));
      };
      rows.emplace_back(column(0), column(1));
    }
    if (step != SQLITE_DONE) return Error("read");
    return rows;
  }

  absl::Status Error(const char* what) const {
    return absl::UnavailableError(
        absl::StrCat("head store ", path_, ": cannot ", what, ": ", sqlite3_errmsg(db_)));
  }

 private:
  const std::string path_;
  sqlite3* const db_;
  absl::Mutex mu_;
  sqlite3_stmt* put_ = nullptr;
  sqlite3_stmt* erase_ = nullptr;
  sqlite3_stmt* load_ = nullptr;
};

}  // namespace

absl::StatusOr<std::unique_ptr<TableStore>> OpenSqliteStore(const std::string& path) {
  // SQLite takes an empty file for a new store; the head only ever finds one cut short.
  struct stat info {};
  if (stat(path.c_str(), &info) == 0 && info.st_size == 0) {
    return absl::DataLossError(absl::StrCat("the head store ", path,
                                            " is empty (cut short); move it away to start a "
                                            "new cluster"));
  }
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr) !=
      SQLITE_OK) {
    const std::string message = db ? sqlite3_errmsg(db) : "out of memory";
    sqlite3_close(db);
    return absl::UnavailableError(absl::StrCat("cannot open the head store ", path, ": ", message));
  }
  auto store = std::make_unique<SqliteStore>(path, db);
  // A damaged file is refused as it is: starting empty would lose the cluster silently.
  char* check = nullptr;
  std::string verdict;
  const int checked = sqlite3_exec(
      db, "PRAGMA quick_check",
      [](void* out, int, char** values, char**) {
        if (values[0]) static_cast<std::string*>(out)->append(values[0]);
        return 0;
      },
      &verdict, &check);
  sqlite3_free(check);
  if (checked != SQLITE_OK || verdict != "ok") {
    return absl::DataLossError(absl::StrCat("the head store ", path, " is damaged (",
                                            checked != SQLITE_OK ? sqlite3_errmsg(db) : verdict,
                                            "); move it away to start a new cluster"));
  }
  // WAL with synchronous=NORMAL: a commit is one append to the log, durable once Apply returns
  // against the head's process being killed (not against the machine losing power: that would
  // take an fsync per commit).
  const char* kSetup =
      "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
      "CREATE TABLE IF NOT EXISTS rows (tbl TEXT NOT NULL, key BLOB NOT NULL, value BLOB NOT NULL,"
      " PRIMARY KEY (tbl, key)) WITHOUT ROWID;";
  if (sqlite3_exec(db, kSetup, nullptr, nullptr, nullptr) != SQLITE_OK) {
    return store->Error("set up");
  }
  if (auto prepared = store->Prepare(); !prepared.ok()) return prepared;
  return store;
}

}  // namespace weft::head
