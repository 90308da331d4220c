#include "client/src/runtime.h"

#include <grpcpp/security/server_credentials.h>
#include <grpcpp/server_builder.h>

#include <algorithm>

#include "absl/strings/str_cat.h"

#include "client/src/actor_calls.h"
#include "client/src/actor_creator.h"
#include "client/src/object_fetch.h"
#include "client/src/stream_table.h"
#include "client/src/task_calls.h"
#include "common/logging.h"
#include "common/net_address.h"
#include "common/rpc.h"
#include "common/transport_security.h"
#include "weft/error.h"

namespace weft::internal {
namespace {
std::mutex runtime_mu;
std::unique_ptr<Runtime> runtime;  // guarded by runtime_mu for installs; read freely after
Runtime* current = nullptr;

// How long one question to an owner may wait there; a borrower that still needs the object
// then asks again.
constexpr std::chrono::seconds kOwnerPollPeriod{30};
// How long a borrower whose watch failed has to show that it is there (connected again) or
// answer, in tries of kBorrowerRetryTry: connected at the end of one, it is watched as before,
// so a later stall gets a window of its own.
constexpr std::chrono::milliseconds kBorrowerRetryWindow =
    2 * (kKeepaliveTime + kKeepaliveTimeout) + std::chrono::seconds(2);
constexpr std::chrono::milliseconds kBorrowerRetryTry{2000};
// How long an owner's answer may take once the object is resolved: it may carry a large value.
constexpr std::chrono::minutes kOwnerAnswerTimeout{5};
}  // namespace

WorkerChannels::~WorkerChannels() { Close(); }

void WorkerChannels::Close() {
  std::vector<std::shared_ptr<CallStream>> streams;
  {
    std::lock_guard lock(mu_);
    closed_ = true;
    for (auto& [address, connection] : connections_) {
      if (connection.stream) streams.push_back(connection.stream);
    }
    streams.insert(streams.end(), replaced_.begin(), replaced_.end());
  }
  for (auto& stream : streams) stream->Cancel();
  for (auto& stream : streams) stream->WaitDone();
}

WorkerChannels::Connection& WorkerChannels::ConnectionLocked(const std::string& address) {
  auto& connection = connections_[address];
  if (!connection.channel) {
    // Owners answer with values (a large Put value to a borrower of another node).
    connection.channel = MakeChannel(address, token_);
    connection.stub = proto::Worker::NewStub(connection.channel);
  }
  return connection;
}

proto::Worker::Stub& WorkerChannels::Stub(const std::string& address) {
  std::lock_guard lock(mu_);
  return *ConnectionLocked(address).stub;
}

bool WorkerChannels::Connected(const std::string& address) {
  std::lock_guard lock(mu_);
  auto it = connections_.find(address);
  return it != connections_.end() && it->second.channel &&
         it->second.channel->GetState(/*try_to_connect=*/false) == GRPC_CHANNEL_READY;
}

proto::Owner::Stub& WorkerChannels::OwnerStub(const std::string& address) {
  std::lock_guard lock(mu_);
  auto& connection = ConnectionLocked(address);
  if (!connection.owner) connection.owner = proto::Owner::NewStub(connection.channel);
  return *connection.owner;
}

bool WorkerChannels::Submit(const std::string& address, proto::Call call, CallStream::Done done) {
  std::lock_guard lock(mu_);
  if (closed_) return false;  // `done` is not called: the caller may hold its own locks
  auto& connection = ConnectionLocked(address);
  if (connection.stream && connection.stream->Submit(call, done)) return true;
  if (connection.stream) {
    std::erase_if(replaced_, [](const auto& stream) { return stream->done(); });
    replaced_.push_back(std::move(connection.stream));
  }
  connection.stream = CallStream::Open(*connection.stub, address, std::move(call), std::move(done));
  return true;
}

void WorkerChannels::CancelCall(const std::string& address, proto::CancelCall cancel) {
  std::lock_guard lock(mu_);
  auto it = connections_.find(address);
  if (closed_ || it == connections_.end() || !it->second.stream) return;
  it->second.stream->CancelCall(std::move(cancel));  // an ended stream failed its calls already
}

void WorkerChannels::StreamAck(const std::string& address, proto::StreamAck ack) {
  std::lock_guard lock(mu_);
  auto it = connections_.find(address);
  if (closed_ || it == connections_.end() || !it->second.stream) return;
  it->second.stream->Ack(std::move(ack));
}

Runtime::Runtime(Config config)
    : config_(std::move(config)),
      shared_(config_.objects_dir, config_.node_id, config_.worker_id),
      head_(MakeChannel(config_.head_address, config_.token)),
      actor_directory_(proto::ActorDirectory::NewStub(head_)),
      jobs_(proto::JobRegistry::NewStub(head_)),
      scheduler_(proto::Scheduler::NewStub(head_)),
      workers_(config_.token),
      actor_watches_(
          [this](const std::string&, grpc::ClientContext* context, ActorWatches::Reactor* reactor) {
            actor_directory_->async()->WatchActors(context, reactor);
          },
          // A head that is down or restarting is waited for (each watch up to its deadline),
          // not asked in a loop.
          in_flight_, timers_, /*wait_for_ready=*/true),
      object_watches_(
          [this](const std::string& owner, grpc::ClientContext* context,
                 decltype(object_watches_)::Reactor* reactor) {
            workers_.OwnerStub(owner).async()->WatchObjects(context, reactor);
          },
          in_flight_, timers_, /*wait_for_ready=*/false),
      release_watches_(
          [this](const std::string& borrower, grpc::ClientContext* context,
                 decltype(release_watches_)::Reactor* reactor) {
            workers_.OwnerStub(borrower).async()->WatchReleases(context, reactor);
          },
          in_flight_, timers_, /*wait_for_ready=*/false),
      freer_(workers_, in_flight_),
      objects_({
          .fetch =
              [this](const std::string& id, const proto::ObjectLocation& location,
                     ObjectTable::FetchDone done) {
                // From this node's shared memory: where its worker stores it, or where another
                // process of this node keeps it (fetched from another machine already).
                if (auto mapped = MapStoredObject(config_.objects_dir, id, location)) {
                  return done(std::move(mapped));
                }
                if (auto kept = shared_.FindOnNode(id, location.size_bytes())) {
                  return done(std::move(kept));
                }
                if (location.address().empty()) {  // a Put value of its owner's node
                  return done(absl::UnavailableError("its node's shared memory is not here"));
                }
                // Fetched once for this node: a copy from another machine is kept in shared
                // memory for the node's other processes (not one of this machine's, spilled).
                const bool remote =
                    CheckStoredCopy(config_.objects_dir, id, location) == StoredCopy::kElsewhere;
                FetchObject(workers_.Stub(location.address()), id, in_flight_,
                            remote ? &shared_ : nullptr, std::move(done));
              },
          .ask_owner = [this](const std::string& id, const std::string& owner,
                              const std::string& lost_at,
                              ObjectTable::OwnerDone done) { AskOwner(id, owner, lost_at, done); },
          .free = [this](const std::string& address,
                         const std::string& id) { freer_.Free(address, id); },
          .watch_borrower =
              [this](const std::string& id, const std::string& borrower,
                     const std::vector<std::string>& outers, std::function<void(bool)> done) {
                WatchBorrower(id, borrower, outers, std::move(done));
              },
          .report_borrower =
              [this](const std::string& owner, const std::string& id, const std::string& borrower,
                     const std::string& outer, ObjectTable::Callback done) {
                ReportBorrower(owner, id, borrower, outer, std::move(done));
              },
      }),
      auth_(config_.token),
      owner_service_(auth_, objects_, shared_, timers_),
      token_holder_(auth_),
      actors_(std::make_unique<ActorCalls>(*this)),
      tasks_(std::make_unique<TaskCalls>(*this)),
      streams_(std::make_unique<StreamTable>(*this)),
      creator_(std::make_unique<ActorCreator>(*actor_directory_, config_.head_address)) {}

Runtime::~Runtime() {
  // Nothing may call back into the runtime once its parts are gone. No deadline of a watch
  // fires from here: the watches end with their streams, cancelled below.
  timers_.Stop();
  creator_.reset();
  owner_gate_.reset();
  if (owner_server_) owner_server_->Shutdown(std::chrono::system_clock::now());
  in_flight_.CancelAllAndWait();
  workers_.Close();
}

absl::Status Runtime::ServeOwnedObjects(const std::string& host) {
  grpc::ServerBuilder builder;
  ConfigureServer(builder);
  auto gate = ConnectionGate::Listen(host, 0, builder, CurrentServerCredentials());
  if (!gate.ok()) return gate.status();
  const int port = (*gate)->port();
  builder.RegisterService(&owner_service_);
  builder.RegisterService(&token_holder_);
  owner_server_ = builder.BuildAndStart();
  if (!owner_server_) {
    return absl::UnavailableError(absl::StrCat("cannot serve owned objects on ", host));
  }
  owner_gate_ = *std::move(gate);
  owner_gate_->Open();
  set_own_address(JoinHostPort(AdvertisedHost(host), port));
  return absl::OkStatus();
}

void Runtime::AskOwner(const std::string& id, const std::string& owner, const std::string& lost_at,
                       ObjectTable::OwnerDone done) {
  proto::WaitObjectRequest request;
  request.set_poll_ms(static_cast<int32_t>(
      std::chrono::duration_cast<std::chrono::milliseconds>(kOwnerPollPeriod).count()));
  request.set_object_id(id);
  request.set_lost_at(lost_at);
  for (auto& node : LocalNodes()) request.add_local_nodes(std::move(node));
  if (!object_watches_.Watch(owner, std::move(request),
                             std::chrono::steady_clock::now() + kOwnerAnswerTimeout, done)) {
    done(absl::CancelledError("weft is shutting down"));
  }
}

std::vector<std::string> Runtime::LocalNodes() {
  constexpr std::chrono::seconds kRefresh{5};
  std::lock_guard lock(local_nodes_mu_);
  const auto now = std::chrono::steady_clock::now();
  if (local_nodes_at_ == std::chrono::steady_clock::time_point() ||
      now - local_nodes_at_ > kRefresh) {
    local_nodes_ = MappableNodes(config_.objects_dir);
    local_nodes_at_ = now;
  }
  return local_nodes_;
}

void Runtime::WatchBorrower(const std::string& id, const std::string& borrower,
                            const std::vector<std::string>& outers, std::function<void(bool)> done,
                            std::optional<std::chrono::steady_clock::time_point> give_up_at) {
  proto::WaitReleasedRequest request;
  request.set_object_id(id);
  for (const auto& outer : outers) request.add_outer_ids(outer);
  // No deadline: the borrower answers when it lets go, or the watch fails when it dies (or
  // stops answering keepalive pings). A try after a failure lasts kBorrowerRetryTry at most.
  std::optional<std::chrono::steady_clock::time_point> deadline;
  if (give_up_at) {
    const auto now = std::chrono::steady_clock::now();
    deadline = now + std::clamp<std::chrono::steady_clock::duration>(
                         *give_up_at - now, std::chrono::milliseconds(1), kBorrowerRetryTry);
  }
  // Shutting down (false): this process's objects go with it.
  (void)release_watches_.Watch(
      borrower, std::move(request), deadline,
      [this, id, borrower, outers, give_up_at,
       done = std::move(done)](absl::StatusOr<proto::WaitReleasedReply> released) mutable {
        // Cancelled here: this process is shutting down. Another failure may be the connection
        // (a reconnect, a GOAWAY, a stall of the borrower): asked again, on a fresh stream, in
        // short tries until kBorrowerRetryWindow is over. A try that fails otherwise than by
        // running out (refused: the process is gone), or none connected by then: the borrower
        // is gone (or cannot be reached, which counts the same). Connected at the end of a try,
        // it is there: watched again as before, and a later stall gets its own window.
        const absl::StatusCode code = released.status().code();
        if (code == absl::StatusCode::kCancelled && in_flight_.closing()) {
        } else if (released.ok()) {
          done(true);
        } else if (!give_up_at) {
          WatchBorrower(id, borrower, outers, std::move(done),
                        std::chrono::steady_clock::now() + kBorrowerRetryWindow);
        } else if (code != absl::StatusCode::kDeadlineExceeded) {
          done(false);
        } else if (workers_.Connected(borrower)) {
          WatchBorrower(id, borrower, outers, std::move(done));
        } else if (std::chrono::steady_clock::now() < *give_up_at) {
          WatchBorrower(id, borrower, outers, std::move(done), give_up_at);
        } else {
          done(false);
        }
      });
}

void Runtime::ReportBorrower(const std::string& owner, const std::string& id,
                             const std::string& borrower, const std::string& outer,
                             ObjectTable::Callback done, bool retried) {
  struct Report {
    std::unique_ptr<grpc::ClientContext> context;
    proto::AddBorrowerRequest request;
    proto::AddBorrowerReply reply;
  };
  auto report = std::make_shared<Report>(Report{ContextWithTimeout(kControlRpcTimeout), {}, {}});
  report->request.set_object_id(id);
  report->request.set_borrower(borrower);
  report->request.set_outer_id(outer);
  grpc::ClientContext* call = report->context.get();
  if (!in_flight_.Add(call)) return done();
  workers_.OwnerStub(owner).async()->AddBorrower(
      call, &report->request, &report->reply,
      [this, call, report, owner, done, retried](grpc::Status status) {
        const bool again = !status.ok() && !retried && !in_flight_.closing() &&
                           status.error_code() != grpc::StatusCode::NOT_FOUND;
        if (again) {  // maybe the connection's failure: once more, on a fresh one
          ReportBorrower(owner, report->request.object_id(), report->request.borrower(),
                         report->request.outer_id(), done, /*retried=*/true);
        } else if (!status.ok()) {  // the owner is gone: so is the object, for everyone
          spdlog::debug("owner {} did not take borrower {} of object {}: {}", owner,
                        report->request.borrower(), report->request.object_id(),
                        status.error_message());
        }
        if (!again) done();
        in_flight_.Remove(call, [&] { report->context.reset(); });
      });
}

Runtime& Runtime::Get() {
  if (!current) throw Error(9, "weft is not initialized: call weft::Init() first");
  return *current;
}

Runtime* Runtime::Current() { return current; }

void Runtime::Install(std::unique_ptr<Runtime> installed) {
  std::lock_guard lock(runtime_mu);
  runtime = std::move(installed);
  current = runtime.get();
}

std::unique_ptr<Runtime> Runtime::Uninstall() {
  std::lock_guard lock(runtime_mu);
  current = nullptr;
  return std::move(runtime);
}

}  // namespace weft::internal
