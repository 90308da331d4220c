#pragma once

// What the request fuzz targets share: serving services on 127.0.0.1, listing the unary
// methods of services from their descriptors, sending one input as a request, and writing a
// seed corpus. An input's first byte picks the method; the rest is the request's bytes.

#include <google/protobuf/descriptor.h>
#include <google/protobuf/message.h>
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <future>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "common/auth.h"
#include "common/rpc.h"
#include "token.pb.h"

namespace weft::fuzzing {

// A server with what `add` registers, on a free port of 127.0.0.1 (its address in `address`).
inline std::unique_ptr<grpc::Server> Serve(const std::function<void(grpc::ServerBuilder&)>& add,
                                           std::string* address) {
  grpc::ServerBuilder builder;
  ConfigureServer(builder);
  int port = 0;
  builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
  add(builder);
  auto server = builder.BuildAndStart();
  if (!server || port == 0) {
    std::fprintf(stderr, "cannot serve on 127.0.0.1\n");
    std::abort();
  }
  *address = "127.0.0.1:" + std::to_string(port);
  return server;
}

// A unary method ("/weft.proto.Service/Method") and the stub of the server that serves it.
struct Method {
  std::string path;
  grpc::GenericStub* stub;
};

// The unary methods of each service (a full name, e.g. "weft.proto.Worker"), as served there.
inline std::vector<Method> UnaryMethods(
    const std::vector<std::pair<std::string, grpc::GenericStub*>>& services) {
  std::vector<Method> methods;
  for (const auto& [name, stub] : services) {
    const auto* service =
        google::protobuf::DescriptorPool::generated_pool()->FindServiceByName(name);
    if (!service) {
      std::fprintf(stderr, "no service %s (is its code linked in?)\n", name.c_str());
      std::abort();
    }
    for (int m = 0; m < service->method_count(); ++m) {
      const auto* method = service->method(m);
      if (method->client_streaming() || method->server_streaming()) continue;
      methods.push_back({"/" + service->full_name() + "/" + method->name(), stub});
    }
  }
  return methods;
}

// Sends the input's request to the method its first byte picks, with `token`. Every method
// answers at once or within its own bound; long polls are cut after 2 s so that one input does
// not stall the run. A call that never ends aborts (a finding).
inline void CallOnce(const std::vector<Method>& methods, const std::string& token,
                     const uint8_t* data, size_t size) {
  if (size == 0) return;
  const Method& method = methods[data[0] % methods.size()];
  grpc::ClientContext context;
  context.AddMetadata(kTokenMetadataKey, token);
  SetTimeout(context, std::chrono::seconds(2));
  grpc::Slice slice(data + 1, size - 1);
  grpc::ByteBuffer request(&slice, 1), response;
  std::promise<void> done;
  method.stub->UnaryCall(&context, method.path, grpc::StubOptions(), &request, &response,
                         [&](grpc::Status) { done.set_value(); });
  if (done.get_future().wait_for(std::chrono::seconds(30)) != std::future_status::ready) {
    std::fprintf(stderr, "%s did not answer within 30 s\n", method.path.c_str());
    std::abort();
  }
}

// Writes one seed per well-formed request (by method path) into `dir`, and exits: how the seed
// corpora in fuzz/corpus were made ($WEFT_FUZZ_WRITE_SEEDS=<dir>).
[[noreturn]] inline void WriteSeeds(
    const std::vector<Method>& methods,
    const std::vector<std::pair<std::string, const google::protobuf::Message*>>& requests,
    const std::string& dir) {
  int n = 0;
  for (const auto& seed : requests) {
    const std::string& path = seed.first;
    const auto it = std::find_if(methods.begin(), methods.end(),
                                 [&path](const Method& m) { return m.path == path; });
    if (it == methods.end()) continue;
    const std::string file = dir + "/seed-" + std::to_string(n++);
    if (FILE* out = std::fopen(file.c_str(), "wb")) {
      std::fputc(static_cast<int>(it - methods.begin()), out);
      const std::string bytes = seed.second->SerializeAsString();
      std::fwrite(bytes.data(), 1, bytes.size(), out);
      std::fclose(out);
    }
  }
  std::exit(0);
}

// A well-formed AdoptToken, for the seeds of the services that take one.
inline proto::AdoptTokenRequest SeedRotation() {
  proto::AdoptTokenRequest adopt;
  adopt.set_token(std::string(64, 'a'));
  adopt.set_send_in_ms(1000);
  adopt.set_refuse_old_in_ms(2000);
  return adopt;
}

// One input of a request fuzz target, whose fixture (`make`, once) has `methods` and `auth`:
// with $WEFT_FUZZ_WRITE_SEEDS=<dir>, writes its seeds there (`seeds`) and exits; else sends it
// with the newest token (a token rotation among the inputs may have replaced the first).
template <typename Fixture>
int FuzzOneRequest(Fixture* (*make)(), void (*seeds)(const Fixture&, const std::string&),
                   const uint8_t* data, size_t size) {
  static Fixture* fixture = make();
  if (const char* dir = std::getenv("WEFT_FUZZ_WRITE_SEEDS")) seeds(*fixture, dir);
  CallOnce(fixture->methods, fixture->auth.Accepted().front(), data, size);
  return 0;
}

}  // namespace weft::fuzzing
