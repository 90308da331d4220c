// Every RPC of every daemon requires the cluster token, and bad input leaves daemons running.

#include <gmock/gmock.h>
#include <google/protobuf/descriptor.h>
#include <grpcpp/create_channel.h>
#include <grpcpp/generic/generic_stub.h>
#include <gtest/gtest.h>

#include <cmath>
#include <future>

#include "certificates.grpc.pb.h"
#include "code.grpc.pb.h"
#include "common/rpc.h"
#include "head.grpc.pb.h"
#include "log.grpc.pb.h"
#include "node.grpc.pb.h"
#include "tests/cluster_harness.h"
#include "token.grpc.pb.h"
#include "worker.grpc.pb.h"

namespace weft::testing {
namespace {

using ::testing::HasSubstr;

// Calls `method` ("/pkg.Service/Method") with `payload` as the raw request bytes.
grpc::Status RawCall(const std::shared_ptr<grpc::Channel>& channel, const std::string& method,
                     const std::string& payload = "") {
  grpc::GenericStub stub(channel);
  grpc::ClientContext context;
  SetTimeout(context, std::chrono::seconds(5));
  grpc::Slice slice(payload);
  grpc::ByteBuffer request(&slice, 1), response;
  std::promise<grpc::Status> done;
  stub.UnaryCall(&context, method, grpc::StubOptions(), &request, &response,
                 [&](grpc::Status status) { done.set_value(std::move(status)); });
  return done.get_future().get();
}

// Every method of every service declared in the given .proto files, as "/pkg.Svc/Method".
// Read from the descriptors, so a service or method added later is covered too.
std::vector<std::string> MethodsIn(const std::vector<std::string>& proto_files) {
  std::vector<std::string> methods;
  for (const auto& name : proto_files) {
    const auto* file = google::protobuf::DescriptorPool::generated_pool()->FindFileByName(name);
    EXPECT_NE(file, nullptr) << name;
    for (int s = 0; file && s < file->service_count(); ++s) {
      const auto* service = file->service(s);
      for (int m = 0; m < service->method_count(); ++m) {
        methods.push_back("/" + service->full_name() + "/" + service->method(m)->name());
      }
    }
  }
  return methods;
}

void ExpectEveryMethodRefusesStrangers(const std::string& address,
                                       const std::vector<std::string>& methods) {
  const auto anonymous = grpc::CreateChannel(address, grpc::InsecureChannelCredentials());
  const auto impostor = MakeChannel(address, std::string(64, '0'));
  for (const auto& method : methods) {
    EXPECT_EQ(RawCall(anonymous, method).error_code(), grpc::StatusCode::UNAUTHENTICATED) << method;
    EXPECT_EQ(RawCall(impostor, method).error_code(), grpc::StatusCode::UNAUTHENTICATED) << method;
  }
}

TEST(Auth, EveryHeadAndNodeMethodNeedsTheToken) {
  TestCluster cluster(1);
  // log.proto: the head's LogBroker and the node's NodeLogs (this raylet runs both). Its
  // descriptors are in the pool only if its code is linked in: use it once.
  ASSERT_NE(proto::LogLine::descriptor(), nullptr);
  ASSERT_NE(proto::GetAuthorityRequest::descriptor(), nullptr);
  ASSERT_NE(proto::AdoptTokenRequest::descriptor(), nullptr);
  ASSERT_NE(proto::MissingCodeRequest::descriptor(), nullptr);
  auto methods = MethodsIn(
      {"head.proto", "node.proto", "log.proto", "certificates.proto", "token.proto", "code.proto"});
  // The one method open to all: it proves the head knows the token, to a caller that does not
  // trust the head yet (proto/certificates.proto).
  std::erase(methods, "/weft.proto.Certificates/GetAuthority");
  EXPECT_GE(methods.size(), 31u);  // 9 head services and 3 node ones, read from descriptors
  ExpectEveryMethodRefusesStrangers(cluster.head_address(), methods);
  // Nothing a stranger sent registered anything.
  EXPECT_EQ(cluster.ListNodes().nodes_size(), 1);
}

TEST(Auth, EveryWorkerMethodNeedsTheToken) {
  TestCluster cluster(1);
  proto::LeaseWorkerReply leased;
  ASSERT_TRUE(cluster.Lease({{"CPU", 1}}, &leased).ok());
  auto methods = MethodsIn({"worker.proto"});
  methods.push_back("/weft.proto.TokenHolder/AdoptToken");  // a worker's part of token.proto
  ExpectEveryMethodRefusesStrangers(leased.worker().address(), methods);

  // With the token, the same worker answers.
  auto worker = proto::Worker::NewStub(MakeChannel(leased.worker().address(), cluster.token()));
  grpc::ClientContext ping_context;
  SetTimeout(ping_context, std::chrono::seconds(5));
  proto::PingRequest ping;
  ping.set_payload("hello");
  proto::PingReply pong;
  ASSERT_TRUE(worker->Ping(&ping_context, ping, &pong).ok());
  EXPECT_EQ(pong.payload(), "hello");
  EXPECT_EQ(pong.pid(), leased.worker().pid());
}

TEST(Auth, BadRequestsGetClearErrorsAndTheHeadKeepsServing) {
  TestCluster cluster(1);
  auto channel = MakeChannel(cluster.head_address(), cluster.token());
  auto nodes = proto::NodeDirectory::NewStub(channel);
  {
    grpc::ClientContext context;
    SetTimeout(context, std::chrono::seconds(5));
    proto::RegisterNodeReply reply;
    const auto status = nodes->RegisterNode(&context, proto::RegisterNodeRequest(), &reply);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_THAT(status.error_message(), HasSubstr("needs node_id and address"));
  }
  {
    grpc::ClientContext context;
    SetTimeout(context, std::chrono::seconds(5));
    proto::HeartbeatRequest request;
    request.set_node_id("no-such-node");
    proto::HeartbeatReply reply;
    const auto status = nodes->Heartbeat(&context, request, &reply);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND);
    EXPECT_THAT(status.error_message(), HasSubstr("node no-such-node not found"));
  }
  {
    grpc::ClientContext context;
    SetTimeout(context, std::chrono::seconds(5));
    proto::KillWorkerRequest request;
    request.set_worker_id("nobody");
    proto::KillWorkerReply reply;
    const auto status =
        cluster.NodeManager(cluster.head_address())->KillWorker(&context, request, &reply);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND);
  }
  {
    grpc::ClientContext context;
    SetTimeout(context, std::chrono::seconds(5));
    proto::LeaseWorkerRequest request;
    request.mutable_required()->insert({"CPU", std::nan("")});
    proto::LeaseWorkerReply reply;
    const auto status = cluster.Scheduler()->LeaseWorker(&context, request, &reply);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_THAT(status.error_message(), HasSubstr("CPU must be a non-negative number"));
  }
  // Bytes that are no protobuf at all.
  const auto garbage = RawCall(channel, "/weft.proto.NodeDirectory/RegisterNode",
                               std::string("\xff\xff\xff\xff\x0f garbage", 13));
  EXPECT_FALSE(garbage.ok());
  const auto unknown = RawCall(channel, "/weft.proto.NodeDirectory/NoSuchMethod");
  EXPECT_EQ(unknown.error_code(), grpc::StatusCode::UNIMPLEMENTED);

  const auto reply = cluster.ListNodes();
  ASSERT_EQ(reply.nodes_size(), 1);
  EXPECT_EQ(reply.nodes(0).state(), proto::NODE_ALIVE);
}

}  // namespace
}  // namespace weft::testing
