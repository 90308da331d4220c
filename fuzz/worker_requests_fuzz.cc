// libFuzzer: arbitrary request messages to every method of a worker's services (Worker,
// Owner, TokenHolder; the Calls stream message by message) with the cluster token, as drivers,
// other workers, the head and its node would send them. The worker's parts (actor host, call
// dispatcher, object store, the runtime that answers as an owner) run in this process behind a real
// gRPC server on 127.0.0.1, put together as worker/worker_process.cc does; no head answers (its
// address is closed), so what the worker asks of it fails as when the head is down. An Exit asked
// for is not taken. A crash, a sanitizer report or a call that never ends is a finding.

#include <stdlib.h>

#include "client/src/object_table.h"
#include "client/src/runtime.h"
#include "fuzz/request_fuzzing.h"
#include "token.grpc.pb.h"
#include "worker.grpc.pb.h"
#include "worker/actor_host.h"
#include "worker/call_dispatcher.h"
#include "worker/code_loader.h"
#include "worker/object_store.h"
#include "worker/worker_service.h"

namespace {

constexpr char kToken[] = "fuzz-token-0123456789abcdef0123456789abcdef0123456789abcdef0123";
constexpr char kWorkerId[] = "00000000000f0220";
constexpr char kNodeId[] = "00000000000a0de0";

struct Fixture {
  weft::TokenAuth auth{kToken};
  weft::worker::CodeLoader code{"127.0.0.1:1", kToken};  // no node: every library is refused
  std::unique_ptr<weft::worker::ActorHost> actors;
  std::unique_ptr<weft::worker::ObjectStore> store;
  std::unique_ptr<weft::worker::CallDispatcher> dispatcher;
  std::unique_ptr<weft::worker::WorkerService> service;
  std::unique_ptr<grpc::Server> server;
  std::string address;
  std::unique_ptr<grpc::GenericStub> stub;
  std::vector<weft::fuzzing::Method> methods;
};

Fixture* Make() {
  auto* f = new Fixture();
  setenv("WEFT_SHM_DIR", "/nonexistent", 1);  // values stay in this process's memory
  weft::internal::Runtime::Config config;
  config.head_address = "127.0.0.1:1";
  config.token = kToken;
  config.worker_id = kWorkerId;
  config.node_id = kNodeId;
  weft::internal::Runtime::Install(std::make_unique<weft::internal::Runtime>(config));
  auto& runtime = weft::internal::Runtime::Get();
  f->actors = std::make_unique<weft::worker::ActorHost>(f->code);
  f->store = std::make_unique<weft::worker::ObjectStore>();
  f->dispatcher = std::make_unique<weft::worker::CallDispatcher>(
      weft::worker::CallDispatcher::Identity{kWorkerId, kNodeId, ""}, *f->actors, f->code,
      *f->store, weft::proto::ObjectDirectory::NewStub(runtime.head_channel()),
      weft::internal::kInlineValueBytes);
  f->service = std::make_unique<weft::worker::WorkerService>(
      weft::worker::WorkerService::Identity{kWorkerId, kNodeId}, f->auth,
      weft::worker::WorkerService::Parts{*f->actors, *f->dispatcher, *f->store}, [](int) {});
  f->server = weft::fuzzing::Serve(
      [f, &runtime](grpc::ServerBuilder& b) {
        b.RegisterService(f->service.get());
        b.RegisterService(runtime.owner_service());
        b.RegisterService(runtime.token_holder());
      },
      &f->address);
  f->dispatcher->set_address(f->address);
  runtime.set_own_address(f->address);
  f->stub = std::make_unique<grpc::GenericStub>(
      grpc::CreateChannel(f->address, grpc::InsecureChannelCredentials()));
  (void)weft::proto::AdoptTokenRequest::descriptor();
  f->methods = weft::fuzzing::MethodsOf({{"weft.proto.Worker", f->stub.get()},
                                         {"weft.proto.Owner", f->stub.get()},
                                         {"weft.proto.TokenHolder", f->stub.get()}});
  return f;
}

void WriteSeeds(const Fixture& f, const std::string& dir) {
  weft::proto::PingRequest ping;
  ping.set_payload("hello");
  weft::proto::ActorConstructions constructions;
  weft::proto::ActorConstruction* construction = constructions.add_watches();
  construction->set_watch_id(1);
  construction->mutable_wait()->mutable_spec()->set_actor_id("actor-1");
  construction->mutable_wait()->mutable_spec()->set_class_name("Counter");
  weft::proto::FreeObjectsRequest free;
  free.add_object_ids("object-1");
  weft::proto::ObjectWatches watches;
  weft::proto::ObjectWatch* watch = watches.add_watches();
  watch->set_watch_id(1);
  watch->mutable_wait()->set_object_id("object-1");
  watch->mutable_wait()->set_poll_ms(10);
  watches.add_watches()->set_watch_id(1);
  watches.mutable_watches(1)->set_cancel(true);
  const weft::proto::AdoptTokenRequest adopt = weft::fuzzing::SeedRotation();
  weft::proto::CallBatch calls;
  weft::proto::Call* call = calls.add_calls();
  call->set_call_id(1);
  call->set_actor_id("actor-1");
  call->set_method("Add");
  call->set_args("\x91\x01");  // msgpack [1]
  call->set_result_id("object-2");
  call->set_stream_window(4);
  calls.add_cancels()->set_object_id("object-2");
  calls.add_acks()->set_object_id("object-2");
  weft::proto::FetchObjectRequest fetch;
  fetch.set_object_id("object-1");
  weft::fuzzing::WriteSeeds(f.methods,
                            {{"/weft.proto.Worker/Ping", &ping},
                             {"/weft.proto.Worker/ConstructActors", &constructions},
                             {"/weft.proto.Worker/FreeObjects", &free},
                             {"/weft.proto.Owner/WatchObjects", &watches},
                             {"/weft.proto.TokenHolder/AdoptToken", &adopt},
                             {"/weft.proto.Worker/Calls", &calls},
                             {"/weft.proto.Worker/FetchObject", &fetch}},
                            dir);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return weft::fuzzing::FuzzOneRequest(&Make, &WriteSeeds, data, size);
}
