#pragma once

// What the request fuzz targets share: serving services on 127.0.0.1, listing the methods of
// services from their descriptors, sending one input as a call, and writing a seed corpus. An
// input's first byte picks the method; the rest is the request's bytes, or, for a method that
// takes a stream (Calls, PutCode), the stream's messages, each after its length (2 bytes,
// little-endian).

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

// A method ("/weft.proto.Service/Method") and the stub of the server that serves it.
struct Method {
  std::string path;
  grpc::GenericStub* stub;
  bool streaming = false;       // a stream either way: sent as a bidi stream
  bool client_streams = false;  // takes a stream of messages
};

// The methods of each service, as served at its stub: every unary one first, then the
// streaming ones, so that an input's first byte picks the unary method it picked before
// streaming methods were fuzzed (the seed corpora stay valid).
inline std::vector<Method> MethodsOf(
    const std::vector<std::pair<const google::protobuf::ServiceDescriptor*, grpc::GenericStub*>>&
        services) {
  std::vector<Method> unary, streaming;
  for (const auto& [service, stub] : services) {
    for (int m = 0; m < service->method_count(); ++m) {
      const auto* method = service->method(m);
      const std::string path = "/" + service->full_name() + "/" + method->name();
      if (!method->client_streaming() && !method->server_streaming()) {
        unary.push_back({path, stub});
      } else {
        streaming.push_back({path, stub, true, method->client_streaming()});
      }
    }
  }
  unary.insert(unary.end(), streaming.begin(), streaming.end());
  return unary;
}

// The same, by each service's full name (e.g. "weft.proto.Worker").
inline std::vector<Method> MethodsOf(
    const std::vector<std::pair<std::string, grpc::GenericStub*>>& services) {
  std::vector<std::pair<const google::protobuf::ServiceDescriptor*, grpc::GenericStub*>> found;
  for (const auto& [name, stub] : services) {
    const auto* service =
        google::protobuf::DescriptorPool::generated_pool()->FindServiceByName(name);
    if (!service) {
      std::fprintf(stderr, "no service %s (is its code linked in?)\n", name.c_str());
      std::abort();
    }
    found.emplace_back(service, stub);
  }
  return MethodsOf(found);
}

// The messages an input sends to `method`: its bytes as one request, or for a method that
// takes a stream, up to 64 messages, each after its length (2 bytes, little-endian; cut short
// at the input's end).
inline std::vector<grpc::ByteBuffer> MessagesOf(const Method& method, const uint8_t* data,
                                                size_t size) {
  std::vector<grpc::ByteBuffer> messages;
  auto add = [&messages](const uint8_t* bytes, size_t n) {
    grpc::Slice slice(bytes, n);
    messages.emplace_back(&slice, 1);
  };
  if (!method.client_streams) {
    add(data, size);
    return messages;
  }
  while (size >= 2 && messages.size() < 64) {
    const size_t length = std::min<size_t>(data[0] | (data[1] << 8), size - 2);
    add(data + 2, length);
    data += 2 + length;
    size -= 2 + length;
  }
  return messages;
}

// One call of a streaming method: writes its messages, half-closes, and reads every answer
// until the call ends.
class StreamCall final : public grpc::ClientBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer> {
 public:
  StreamCall(const Method& method, const std::string& token, std::vector<grpc::ByteBuffer> out)
      : out_(std::move(out)) {
    context_.AddMetadata(kTokenMetadataKey, token);
    SetTimeout(context_, std::chrono::seconds(2));
    method.stub->PrepareBidiStreamingCall(&context_, method.path, grpc::StubOptions(), this);
    StartRead(&in_);
    if (out_.empty()) {
      StartWritesDone();
    } else {
      StartWrite(&out_[0]);
    }
    StartCall();
  }
  void OnWriteDone(bool ok) override {
    if (!ok) return;  // the call ended: its status comes with OnDone
    if (++next_ < out_.size()) return StartWrite(&out_[next_]);
    StartWritesDone();
  }
  void OnReadDone(bool ok) override {
    if (ok) StartRead(&in_);
  }
  // The promise outlives the reactor, which its waiter may destroy as soon as it is set.
  void OnDone(const grpc::Status&) override {
    const auto done = done_;
    done->set_value();
  }
  std::future<void> Done() { return done_->get_future(); }

 private:
  grpc::ClientContext context_;
  std::vector<grpc::ByteBuffer> out_;
  size_t next_ = 0;
  grpc::ByteBuffer in_;
  const std::shared_ptr<std::promise<void>> done_ = std::make_shared<std::promise<void>>();
};

// Sends the input to the method its first byte picks, with `token`. Every method answers at
// once or within its own bound; long polls and streams are cut after 2 s so that one input
// does not stall the run. A call that never ends aborts (a finding).
inline void CallOnce(const std::vector<Method>& methods, const std::string& token,
                     const uint8_t* data, size_t size) {
  if (size == 0) return;
  const Method& method = methods[data[0] % methods.size()];
  std::future<void> done;
  std::unique_ptr<StreamCall> stream;
  grpc::ClientContext context;
  grpc::ByteBuffer response;
  std::promise<void> answered;
  if (method.streaming) {
    stream = std::make_unique<StreamCall>(method, token, MessagesOf(method, data + 1, size - 1));
    done = stream->Done();
  } else {
    context.AddMetadata(kTokenMetadataKey, token);
    SetTimeout(context, std::chrono::seconds(2));
    grpc::ByteBuffer request = MessagesOf(method, data + 1, size - 1).front();
    done = answered.get_future();
    method.stub->UnaryCall(&context, method.path, grpc::StubOptions(), &request, &response,
                           [&](grpc::Status) { answered.set_value(); });
  }
  if (done.wait_for(std::chrono::seconds(30)) != std::future_status::ready) {
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
      if (it->client_streams) {  // one message of the stream (see MessagesOf)
        std::fputc(static_cast<int>(bytes.size() & 0xff), out);
        std::fputc(static_cast<int>(bytes.size() >> 8), out);
      }
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
