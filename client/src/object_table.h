#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "common.pb.h"
#include "worker.pb.h"

namespace weft::internal {

// The objects this process holds references to, by id. An object is pending (its call runs),
// located (its bytes are in a worker's store), here (value or error), or fetching (located and
// on its way here). Thread-safe; callbacks run without the lock held.
class ObjectTable {
 public:
  using Bytes = std::shared_ptr<const std::string>;
  using Callback = std::function<void()>;
  using FetchDone = std::function<void(absl::StatusOr<std::string>)>;
  // Fetches a located object's bytes from the worker that stores it.
  using Fetcher =
      std::function<void(const std::string& id, const proto::ObjectLocation&, FetchDone)>;

  explicit ObjectTable(Fetcher fetcher) : fetcher_(std::move(fetcher)) {}

  static std::string NewId();

  void AddPending(const std::string& id);
  void SetValue(const std::string& id, std::string bytes);
  void SetError(const std::string& id, proto::RemoteError error);
  void SetLocation(const std::string& id, proto::ObjectLocation location);
  // What a call's result says: a value, a location or an error (moved out of `result`).
  void SetResult(const std::string& id, proto::CallResult& result);
  // Why a pending object is not done yet; added to Get's timeout message.
  void SetNote(const std::string& id, std::string note);
  // Forgets the object (its last reference here is gone).
  void Erase(const std::string& id);

  bool Ready(const std::string& id);
  // Here or located (or unknown): enough to pass it as an argument.
  bool Resolved(const std::string& id, bool* failed = nullptr);
  // `callback` runs once the value or error is here (fetching a located object first).
  void WhenReady(const std::string& id, Callback callback);
  // `callback` runs once the object is here or located: enough to pass it as an argument.
  void WhenResolved(const std::string& id, Callback callback);

  // Waits for the value. Throws weft::Error (NOT_FOUND, DEADLINE_EXCEEDED, FAILED_PRECONDITION
  // on an async actor's loop) or weft::RemoteError.
  Bytes Get(const std::string& id, const std::chrono::milliseconds* timeout);

  // A resolved object as it stands: exactly one of value, error or location is set.
  struct Snapshot {
    Bytes value;
    std::unique_ptr<proto::RemoteError> error;
    std::unique_ptr<proto::ObjectLocation> location;
  };
  Snapshot Take(const std::string& id);

  size_t size();

 private:
  enum class State { kPending, kLocated, kFetching, kHere, kFailed };
  struct Entry {
    State state = State::kPending;
    Bytes value;
    proto::RemoteError error;
    proto::ObjectLocation location;
    std::string note;
    std::vector<Callback> on_ready;
    std::vector<Callback> on_resolved;
  };
  // Finishes an entry (value or error) and returns the callbacks to run.
  std::vector<Callback> Finish(Entry& entry);
  // Starts fetching a located entry, if nobody has; call without the lock.
  void MaybeFetch(const std::string& id);

  const Fetcher fetcher_;
  std::mutex mu_;
  std::condition_variable changed_;
  absl::flat_hash_map<std::string, Entry> entries_;
};

}  // namespace weft::internal
