// libFuzzer: arbitrary request messages to every method of the head's services (streams too:
// PutCode takes several messages), with the cluster token, as a node, driver or CLI would send
// them. The head runs in this process on a
// memory store (so the fuzzer sees its code's coverage) behind a real gRPC server reached
// through an in-process channel. The first input byte picks the method; the rest is the
// request's bytes (see fuzz/request_fuzzing.h). A crash, a sanitizer report or a call that never
// ends is a finding.

#include <google/protobuf/descriptor.h>
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <future>
#include <memory>
#include <string>
#include <vector>

#include "certificates.grpc.pb.h"
#include "code.grpc.pb.h"
#include "fuzz/request_fuzzing.h"
#include "head.grpc.pb.h"
#include "log.grpc.pb.h"
#include "raylet/head/head.h"
#include "raylet/head/storage/table_store.h"
#include "token.grpc.pb.h"

namespace {

constexpr char kToken[] = "fuzz-token-0123456789abcdef0123456789abcdef0123456789abcdef0123";

struct Fixture {
  weft::TokenAuth auth{kToken};
  std::unique_ptr<weft::head::Head> head;
  std::unique_ptr<grpc::Server> server;
  std::unique_ptr<grpc::GenericStub> stub;
  std::vector<weft::fuzzing::Method> methods;  // unary only
};

Fixture* Make() {
  auto* f = new Fixture();
  auto head = weft::head::Head::Create({}, f->auth, kToken, weft::head::NewMemoryStore(),
                                       /*existed=*/false, {.tls = true});  // it issues certificates
  if (!head.ok() || !(*head)->Recover().ok()) {
    std::fprintf(stderr, "cannot make a head: %s\n", head.status().ToString().c_str());
    std::abort();
  }
  f->head = *std::move(head);
  grpc::ServerBuilder builder;
  weft::ConfigureServer(builder);
  f->head->AddServices(builder);
  f->server = builder.BuildAndStart();
  f->stub = std::make_unique<grpc::GenericStub>(f->server->InProcessChannel({}));
  // Descriptors are linked in once their messages are used.
  (void)weft::proto::LogLine::descriptor();
  (void)weft::proto::GetAuthorityRequest::descriptor();
  (void)weft::proto::RotateTokenRequest::descriptor();
  (void)weft::proto::MissingCodeRequest::descriptor();
  std::vector<std::pair<const google::protobuf::ServiceDescriptor*, grpc::GenericStub*>> services;
  for (const char* file :
       {"head.proto", "log.proto", "certificates.proto", "token.proto", "code.proto"}) {
    const auto* descriptor =
        google::protobuf::DescriptorPool::generated_pool()->FindFileByName(file);
    for (int s = 0; descriptor && s < descriptor->service_count(); ++s) {
      const auto* service = descriptor->service(s);
      // A node's (and a worker's), not the head's.
      if (service->name() == "NodeLogs" || service->name() == "TokenHolder") continue;
      services.emplace_back(service, f->stub.get());
    }
  }
  f->methods = weft::fuzzing::MethodsOf(services);
  return f;
}

// With $WEFT_FUZZ_WRITE_SEEDS=<dir>: writes a well-formed request for some methods into <dir>
// (the seed corpus in fuzz/corpus/head_requests_fuzz was made so) and exits.
void WriteSeeds(const Fixture& f, const std::string& dir) {
  weft::proto::RegisterNodeRequest node;
  node.mutable_node()->set_node_id("node-1");
  node.mutable_node()->set_address("127.0.0.1:1");
  (*node.mutable_node()->mutable_total())["CPU"] = 2;
  weft::proto::RegisterJobRequest job;
  job.set_namespace_("default");
  job.set_driver_pid(1);
  weft::proto::CreateActorRequest actor;
  actor.mutable_spec()->set_actor_id("actor-1");
  actor.mutable_spec()->set_class_name("Counter");
  actor.mutable_spec()->set_name("counter");
  (*actor.mutable_spec()->mutable_resources())["CPU"] = 1;
  weft::proto::CreateActorsRequest actors;
  *actors.add_creations() = actor;
  actors.add_creations()->mutable_spec()->set_class_name("Counter");
  weft::proto::HeartbeatRequest heartbeat;
  heartbeat.set_node_id("node-1");
  weft::proto::AddObjectLocationRequest location;
  location.set_object_id("object-1");
  weft::proto::IssueCertificateRequest certificate;
  certificate.set_name("node");
  certificate.add_hosts("127.0.0.1");
  weft::proto::LeaseWorkerRequest lease;
  (*lease.mutable_required())["CPU"] = 1;
  weft::proto::KeepJobRequest keep;
  keep.set_job_id("job-0001");
  weft::proto::CodeChunk chunk;
  chunk.mutable_library()->set_name("libactors.so");
  chunk.mutable_library()->set_sha256(std::string(64, '0'));
  chunk.mutable_library()->set_size(5);
  chunk.set_data(
      "\x7f"
      "ELF\x02");
  weft::proto::SubscribeLogsRequest logs;
  logs.set_job_id("job-0001");
  const std::vector<std::pair<std::string, const google::protobuf::Message*>> requests = {
      {"/weft.proto.NodeDirectory/RegisterNode", &node},
      {"/weft.proto.NodeDirectory/Heartbeat", &heartbeat},
      {"/weft.proto.JobRegistry/RegisterJob", &job},
      {"/weft.proto.ActorDirectory/CreateActor", &actor},
      {"/weft.proto.ActorDirectory/CreateActors", &actors},
      {"/weft.proto.ObjectDirectory/AddObjectLocation", &location},
      {"/weft.proto.Certificates/IssueCertificate", &certificate},
      {"/weft.proto.Scheduler/LeaseWorker", &lease},
      {"/weft.proto.JobRegistry/KeepJob", &keep},
      {"/weft.proto.CodeStore/PutCode", &chunk},
      {"/weft.proto.LogBroker/SubscribeLogs", &logs}};
  weft::fuzzing::WriteSeeds(f.methods, requests, dir);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return weft::fuzzing::FuzzOneRequest(&Make, &WriteSeeds, data, size);
}
