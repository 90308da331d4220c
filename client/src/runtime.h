#pragma once

#include <grpcpp/channel.h>
#include <grpcpp/server.h>

#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "client/src/call_stream.h"
#include "common/in_flight.h"
#include "client/src/object_freer.h"
#include "client/src/object_table.h"
#include "client/src/owner_service.h"
#include "client/src/shared_bytes.h"
#include "common/timers.h"
#include "common/watch_streams.h"
#include "common/auth.h"
#include "common/connection_gate.h"
#include "common/token_holder.h"
#include "head.grpc.pb.h"
#include "worker.grpc.pb.h"

namespace weft::internal {

class ActorCalls;
class ActorCreator;
class StreamTable;
class TaskCalls;

// Connections to workers, one channel and one call stream per address. Thread-safe.
class WorkerChannels {
 public:
  explicit WorkerChannels(std::string token) : token_(std::move(token)) {}
  ~WorkerChannels();

  // Ends every stream and waits until their unfinished calls have failed.
  void Close();

  proto::Worker::Stub& Stub(const std::string& address);
  // The Owner service of the process at `address` (a driver or a worker).
  proto::Owner::Stub& OwnerStub(const std::string& address);
  // Whether the connection to `address` is up (the process there answers).
  bool Connected(const std::string& address);
  // Sends a call on the address's stream, opening a new stream if the last one ended. False,
  // without calling `done`, once Close() has begun.
  [[nodiscard]] bool Submit(const std::string& address, proto::Call call, CallStream::Done done);
  // Asks the worker at `address` to cancel a call sent on its current stream (see CancelCall in
  // worker.proto); nothing when that stream has ended (its calls failed).
  void CancelCall(const std::string& address, proto::CancelCall cancel);
  // Tells the worker at `address` how many items of a streaming call were taken.
  void StreamAck(const std::string& address, proto::StreamAck ack);

 private:
  struct Connection {
    std::shared_ptr<grpc::Channel> channel;
    std::unique_ptr<proto::Worker::Stub> stub;
    std::unique_ptr<proto::Owner::Stub> owner;
    std::shared_ptr<CallStream> stream;
  };
  Connection& ConnectionLocked(const std::string& address);

  const std::string token_;
  std::mutex mu_;
  bool closed_ = false;
  absl::flat_hash_map<std::string, Connection> connections_;
  // Streams replaced by a newer one, kept until they are done (their callbacks may still run).
  std::vector<std::shared_ptr<CallStream>> replaced_;
};

// Everything a process needs to use the cluster: the head's services, its job, the object
// table, worker connections and the actors it calls. One per process, between Init and
// Shutdown (drivers), or for the process's life (workers).
class Runtime {
 public:
  struct Config {
    std::string head_address;
    std::string token;
    std::string job_id;
    std::string ns = "default";
    // The libraries workers load for this job, in order (client/src/job_code.h).
    google::protobuf::RepeatedPtrField<proto::CodeLibrary> code;
    std::string worker_id;  // this process's, in a worker; empty in a driver
    std::string node_id;    // a worker's node
    // <session>/objects of this machine's session: the values its nodes store are mapped from
    // their shared memory instead of fetched (client/src/shared_bytes.h).
    std::string objects_dir;
  };

  explicit Runtime(Config config);
  ~Runtime();

  // The process's runtime; throws weft::Error (FAILED_PRECONDITION) before Init.
  static Runtime& Get();
  static Runtime* Current();
  static void Install(std::unique_ptr<Runtime> runtime);
  static std::unique_ptr<Runtime> Uninstall();

  const Config& config() const { return config_; }
  ObjectTable& objects() { return objects_; }
  SharedFolder& shared_folder() { return shared_; }
  WorkerChannels& workers() { return workers_; }
  ActorCalls& actors() { return *actors_; }
  ActorCreator& creator() { return *creator_; }
  TaskCalls& tasks() { return *tasks_; }
  StreamTable& streams() { return *streams_; }
  proto::ActorDirectory::Stub& actor_directory() { return *actor_directory_; }
  proto::JobRegistry::Stub& jobs() { return *jobs_; }
  proto::Scheduler::Stub& scheduler() { return *scheduler_; }
  const std::shared_ptr<grpc::Channel>& head_channel() const { return head_; }
  InFlight& in_flight() { return in_flight_; }
  // The watches of actors at the head (ActorCalls follows its actors with them).
  using ActorWatches = WatchStreams<proto::ActorWatches, proto::ActorWatchAnswers>;
  ActorWatches& actor_watches() { return actor_watches_; }

  // Borrowers reach this process's objects through its OwnerService. A driver serves it on a
  // server of its own bound to `host` (ServeOwnedObjects); a worker registers owner_service()
  // on its own server and reports the address it serves at (set_own_address).
  [[nodiscard]] absl::Status ServeOwnedObjects(const std::string& host);
  grpc::Service* owner_service() { return &owner_service_; }
  // Takes a rotated cluster token (weft token rotate); served beside owner_service().
  grpc::Service* token_holder() { return &token_holder_; }
  void set_own_address(std::string address) {
    own_address_ = address;
    objects_.set_own_address(std::move(address));
  }
  const std::string& own_address() const { return own_address_; }
  // A driver's job, registered once its owner service runs (before Install).
  void set_job_id(std::string job_id) { config_.job_id = std::move(job_id); }

 private:
  void AskOwner(const std::string& id, const std::string& owner, const std::string& lost_at,
                ObjectTable::OwnerDone done);
  // MappableNodes of this process's session, looked up again every few seconds.
  std::vector<std::string> LocalNodes();
  // Watches until the borrower lets go of `id` (done(true)) or is gone (done(false)). A failed
  // watch may be the connection's: it is asked again, in short tries, until the borrower is
  // connected again (then watched as before) or `give_up_at`, set at the first failure.
  void WatchBorrower(const std::string& id, const std::string& borrower,
                     const std::vector<std::string>& outers, std::function<void(bool)> done,
                     std::optional<std::chrono::steady_clock::time_point> give_up_at = {});
  // Tells the owner of `id` that `borrower` holds it (once more if the first try fails with
  // anything but NOT_FOUND); `done` runs once it is over, either way.
  void ReportBorrower(const std::string& owner, const std::string& id, const std::string& borrower,
                      const std::string& outer, ObjectTable::Callback done, bool retried = false);

  Config config_;
  // Where large Put values go for the node's processes to map. Declared first: the objects
  // (whose values may be its files) go first.
  SharedFolder shared_;
  std::mutex local_nodes_mu_;
  std::vector<std::string> local_nodes_;
  std::chrono::steady_clock::time_point local_nodes_at_;
  std::string own_address_;
  std::shared_ptr<grpc::Channel> head_;
  std::unique_ptr<proto::ActorDirectory::Stub> actor_directory_;
  std::unique_ptr<proto::JobRegistry::Stub> jobs_;
  std::unique_ptr<proto::Scheduler::Stub> scheduler_;
  WorkerChannels workers_;
  InFlight in_flight_;  // head calls, object fetches and frees, streams of watches
  Timers timers_;       // the watches' deadlines and polls (stopped first in ~Runtime)
  ActorWatches actor_watches_;
  // To owners: when an object this process borrows is resolved. To borrowers: when they let go
  // of an object this process owns.
  WatchStreams<proto::ObjectWatches, proto::ObjectWatchAnswers> object_watches_;
  WatchStreams<proto::ReleaseWatches, proto::ReleaseWatchAnswers> release_watches_;
  ObjectFreer freer_;
  ObjectTable objects_;
  const TokenAuth auth_;
  OwnerService owner_service_;
  TokenHolderService token_holder_;
  std::unique_ptr<grpc::Server> owner_server_;  // drivers only
  std::unique_ptr<ConnectionGate> owner_gate_;  // accepts for owner_server_ (goes first)
  std::unique_ptr<ActorCalls> actors_;
  std::unique_ptr<TaskCalls> tasks_;
  std::unique_ptr<StreamTable> streams_;
  // Reset first in ~Runtime: it sends what is queued, into actors_.
  std::unique_ptr<ActorCreator> creator_;
};

}  // namespace weft::internal
