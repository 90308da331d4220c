#include "echo_client.h"

#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>
#include <grpcpp/support/channel_arguments.h>

#include <chrono>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"

namespace weft::floor {
namespace {

constexpr int kMaxMessageBytes = 64 << 20;
constexpr auto kCallTimeout = std::chrono::seconds(10);
constexpr auto kFetchTimeout = std::chrono::seconds(60);

}  // namespace

absl::StatusOr<std::unique_ptr<Echo::Stub>> ConnectEcho(int port, absl::Duration timeout) {
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(kMaxMessageBytes);
  args.SetMaxSendMessageSize(kMaxMessageBytes);
  // Every case starts on a fresh connection, whatever ran before it.
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  const std::string address = absl::StrCat("127.0.0.1:", port);
  auto channel =
      grpc::CreateCustomChannel(address, grpc::InsecureChannelCredentials(), std::move(args));
  if (!channel->WaitForConnected(absl::ToChronoTime(absl::Now() + timeout))) {
    return absl::UnavailableError(absl::StrCat("could not connect to echo server at ", address));
  }
  return Echo::NewStub(channel);
}

absl::StatusOr<CaseResult> RunUnarySync(Echo::Stub& stub, int calls) {
  Payload request;
  request.set_data(std::string(kSmallPayloadBytes, 'x'));
  Payload reply;
  std::vector<double> latencies_us;
  latencies_us.reserve(calls);
  const Clock::time_point start = Clock::now();
  for (int i = 0; i < calls; ++i) {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + kCallTimeout);
    const Clock::time_point call_start = Clock::now();
    const grpc::Status status = stub.Unary(&context, request, &reply);
    latencies_us.push_back(MicrosSince(call_start));
    if (!status.ok()) return FromGrpc("unary call", status);
    if (reply.data().size() != kSmallPayloadBytes) {
      return absl::DataLossError(absl::StrCat("unary echo has ", reply.data().size(), " bytes"));
    }
  }
  return Summarize(calls, Clock::now() - start, std::move(latencies_us));
}

absl::StatusOr<CaseResult> RunFetch(Echo::Stub& stub, int fetches, uint64_t total_bytes,
                                    uint64_t chunk_bytes) {
  FetchRequest request;
  request.set_total_bytes(total_bytes);
  request.set_chunk_bytes(chunk_bytes);
  Payload chunk;
  std::vector<double> latencies_us;
  latencies_us.reserve(fetches);
  const Clock::time_point start = Clock::now();
  for (int i = 0; i < fetches; ++i) {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + kFetchTimeout);
    const Clock::time_point fetch_start = Clock::now();
    std::string object;
    object.reserve(total_bytes);
    const auto reader = stub.Fetch(&context, request);
    while (reader->Read(&chunk)) object.append(chunk.data());
    const grpc::Status status = reader->Finish();
    latencies_us.push_back(MicrosSince(fetch_start));
    if (!status.ok()) return FromGrpc("fetch", status);
    if (object.size() != total_bytes) {
      return absl::DataLossError(
          absl::StrCat("fetch of ", total_bytes, " bytes returned ", object.size()));
    }
  }
  return Summarize(fetches, Clock::now() - start, std::move(latencies_us),
                   static_cast<double>(total_bytes) * fetches);
}

}  // namespace weft::floor
