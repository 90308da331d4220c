#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "code.grpc.pb.h"

namespace weft::node {

// A node's copies of its jobs' code libraries (issue 14), in `<session>/code/<sha256>/<name>`:
// a library is fetched from the head's CodeStore the first time one of the node's workers
// needs it, checked against its size and SHA-256, and kept for every later worker (under the
// first name it was asked for: the bytes are what count). Workers asking for a library being
// fetched wait for that one fetch; at most kMaxFetches run at once. Thread-safe.
class CodeCache {
 public:
  using Done = std::function<void(absl::StatusOr<std::string> path)>;
  static constexpr int kMaxFetches = 8;

  CodeCache(std::string dir, std::string token) : dir_(std::move(dir)), token_(std::move(token)) {}
  ~CodeCache() { Close(); }

  // Cancels the fetches in flight (their waiters get CANCELLED) and waits for them to end; later
  // Provide calls fail at once.
  void Close();

  // The head to fetch from; removes what fetches cut short by an earlier process left. Call
  // before Provide.
  void Open(const std::string& head_address);

  // Calls `done` with the path of the node's copy of `library` (checked by CheckLibrary first):
  // at once when the node has it, else once it is fetched (on the fetch's thread). UNAVAILABLE
  // when kMaxFetches are under way, or the head cannot be reached; DATA_LOSS when what came is
  // not what the hash says.
  void Provide(const proto::CodeLibrary& library, Done done);

 private:
  struct Fetch {
    std::vector<Done> waiting;
    std::shared_ptr<grpc::ClientContext> context;
  };
  // Shared with the fetches' threads, which may end after the cache is destroyed.
  struct State {
    std::unique_ptr<proto::CodeStore::Stub> head;
    absl::Mutex mu;
    absl::flat_hash_map<std::string, Fetch> fetches ABSL_GUARDED_BY(mu);  // by SHA-256
    int running ABSL_GUARDED_BY(mu) = 0;
    bool closing ABSL_GUARDED_BY(mu) = false;
  };
  // On a thread of its own: fetches, checks and keeps `library` at `path`, then answers its
  // waiters.
  static void Run(const std::shared_ptr<State>& state, const proto::CodeLibrary& library,
                  const std::string& path, std::shared_ptr<grpc::ClientContext> context);
  static absl::Status FetchInto(proto::CodeStore::Stub& head, const proto::CodeLibrary& library,
                                const std::string& path, grpc::ClientContext& context);
  std::string PathOf(const proto::CodeLibrary& library) const;
  // The node's copy of `sha256` under whatever name; empty when it has none.
  std::string CopyOf(const std::string& sha256) const;

  const std::string dir_;
  const std::string token_;
  const std::shared_ptr<State> state_ = std::make_shared<State>();
};

}  // namespace weft::node
