#include "client/src/runtime.h"

#include "client/src/actor_calls.h"
#include "client/src/object_fetch.h"
#include "client/src/task_calls.h"
#include "common/rpc.h"
#include "weft/error.h"

namespace weft::internal {
namespace {
std::mutex runtime_mu;
std::unique_ptr<Runtime> runtime;  // guarded by runtime_mu for installs; read freely after
Runtime* current = nullptr;
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
    connection.channel = MakeChannel(address, token_);
    connection.stub = proto::Worker::NewStub(connection.channel);
  }
  return connection;
}

proto::Worker::Stub& WorkerChannels::Stub(const std::string& address) {
  std::lock_guard lock(mu_);
  return *ConnectionLocked(address).stub;
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
  connection.stream = CallStream::Open(*connection.stub, address);
  connection.stream->Submit(std::move(call), std::move(done));
  return true;
}

Runtime::Runtime(Config config)
    : config_(std::move(config)),
      head_(MakeChannel(config_.head_address, config_.token)),
      actor_directory_(proto::ActorDirectory::NewStub(head_)),
      jobs_(proto::JobRegistry::NewStub(head_)),
      scheduler_(proto::Scheduler::NewStub(head_)),
      workers_(config_.token),
      objects_([this](const std::string& id, const proto::ObjectLocation& location,
                      ObjectTable::FetchDone done) {
        FetchObject(workers_.Stub(location.address()), id, in_flight_, std::move(done));
      }),
      actors_(std::make_unique<ActorCalls>(*this)),
      tasks_(std::make_unique<TaskCalls>(*this)) {}

Runtime::~Runtime() {
  // Nothing may call back into the runtime once its parts are gone.
  in_flight_.CancelAllAndWait();
  workers_.Close();
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
