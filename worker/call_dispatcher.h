#pragma once

#include <asio/thread_pool.hpp>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "head.grpc.pb.h"
#include "worker.pb.h"
#include "worker/actor_host.h"
#include "worker/call_log.h"
#include "worker/object_store.h"

namespace weft::worker {

// Turns each incoming call into a result: resolves reference arguments through the object
// directory, runs the actor method (ActorHost) or task function (its own thread pool), and
// returns small results inline and large ones as a stored object registered with the head.
// Calls of one caller to one actor and concurrency group start in arrival order, also when
// some wait for their arguments; a call waiting for its arguments holds up no other caller's
// calls, nor its caller's calls of another group.
class CallDispatcher {
 public:
  struct Identity {
    std::string worker_id;
    std::string node_id;
    std::string address;  // this worker's, for object locations
  };
  using Reply = std::function<void(proto::CallResult)>;

  CallDispatcher(Identity identity, ActorHost& actors, CodeLoader& code, ObjectStore& store,
                 std::shared_ptr<proto::ObjectDirectory::Stub> directory, size_t inline_threshold);
  ~CallDispatcher();

  // Call before the worker's address is published; not thread-safe.
  void set_address(std::string address) { identity_.address = std::move(address); }

  // `reply` runs exactly once, on any thread. Its result names the references lent with the
  // call that this process still holds (CallResult.borrowed_ids).
  void Dispatch(proto::Call call, Reply reply);

  // Cancels the call that makes `cancel.object_id` here (see CancelCall in worker.proto): one
  // that has not started is answered CANCELLED at once and never runs; a running one has its
  // token cancelled (a coroutine resumes with weft::CancelledError); with force, a running task
  // ends this process. Unknown and finished calls are ignored.
  void Cancel(const proto::CancelCall& cancel);
  // The caller took items of a streaming call here: its producer may run on.
  void Ack(const proto::StreamAck& ack);

  // What this worker ran (every call and task passed to Dispatch, once answered).
  const CallLog& log() const { return log_; }

  // The owner of these stored results holds no reference to them any more: drops them from
  // the store and their locations from the head's directory.
  void Free(const std::vector<std::string>& object_ids);

 private:
  // Tells the directory that these stored objects went to spill files.
  void MarkSpilled(std::vector<std::string> object_ids);
  using Token = ActorExecutor::Token;
  struct Waiting {
    proto::Call call;
    Reply reply;
    Token token;
    std::optional<absl::StatusOr<std::string>> args;  // set once resolved
  };
  // A call held or running here, for Cancel.
  struct Held {
    Token token;
    proto::Call call;   // its call_id, actor_id and method (for the answer)
    std::string queue;  // an actor call's caller queue (CallerQueue)
    Reply reply;        // the one answer (the token's)
  };
  // A streaming call: its items go to `raw` (the caller's stream) as the generator yields them
  // (a StreamSink in `token`); returns the reply that answers the call after its items.
  Reply Stream(const proto::Call& call, const Token& token, Reply raw, Reply reply);
  // Keeps the call for Cancel until it is answered; returns the reply that answers it once.
  Reply Hold(const proto::Call& call, const Token& token, Reply reply);
  // A reply that first tells the log the call was answered.
  Reply Logged(const proto::Call& call, const Token& token, Reply reply);
  void Run(proto::Call call, std::string args, Reply reply, Token token);
  void RunTask(proto::Call call, std::string args, Reply reply, Token token);
  // A call's outcome becomes its result: an error, its value inline, or its value stored here.
  // The references inside the value are kept while the caller's result object lives.
  void Finish(const proto::Call& call, internal::PackedResult packed, std::exception_ptr error,
              Reply reply);
  // A reply that first names the references inside the call's result (refs_inside) and tells
  // their owners that the caller borrows them (ObjectTable::HandOver), holding them until then.
  static Reply HandOverFirst(const proto::Call& call, internal::PackedResult packed, Reply reply);
  void Fail(const proto::Call& call, const absl::Status& status, const Reply& reply,
            proto::FailureKind kind = proto::FAILURE_UNSPECIFIED);
  // The queue a call keeps its order in: its actor, caller and concurrency group.
  static std::string CallerQueue(const proto::Call& call);
  void Drain(const std::string& queue_key);
  // Replaces kRefArgExt arguments by their values; `done` runs on any thread, with an error when
  // an argument's bytes cannot be had (the call then fails as FAILURE_OBJECT_LOST, naming the
  // argument: the status carries its id as the kLostObject payload).
  void ResolveArgs(const std::string& args, std::function<void(absl::StatusOr<std::string>)> done);
  proto::RemoteError ErrorFor(const proto::Call& call) const;

  Identity identity_;
  ActorHost& actors_;
  CodeLoader& code_;
  ObjectStore& store_;
  const std::shared_ptr<proto::ObjectDirectory::Stub> directory_;
  const size_t inline_threshold_;
  const bool log_enabled_;
  CallLog log_;
  asio::thread_pool tasks_;
  absl::Mutex mu_;
  // Per actor and caller, calls behind one that waits for its arguments.
  absl::flat_hash_map<std::string, std::deque<std::shared_ptr<Waiting>>> waiting_
      ABSL_GUARDED_BY(mu_);
  absl::Mutex held_mu_;
  absl::flat_hash_map<std::string, Held> held_ ABSL_GUARDED_BY(held_mu_);  // by result id
};

}  // namespace weft::worker
