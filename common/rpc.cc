#include "common/rpc.h"

#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>
#include <grpcpp/support/client_interceptor.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>
#include <cerrno>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <functional>
#include <limits>
#include <string_view>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "common/auth.h"
#include "common/status.h"
#include "common/transport_security.h"
#include "head.grpc.pb.h"

namespace weft {
namespace {

// Stamps the cluster token on the initial metadata of every outgoing call: the channel's, or
// the one that replaced it (see AdoptTokenRotation).
class TokenInterceptor : public grpc::experimental::Interceptor {
 public:
  TokenInterceptor(const std::string* token, bool follow_rotations)
      : token_(token), follow_rotations_(follow_rotations) {}

  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    if (methods->QueryInterceptionHookPoint(
            grpc::experimental::InterceptionHookPoints::PRE_SEND_INITIAL_METADATA)) {
      methods->GetSendInitialMetadata()->emplace(
          kTokenMetadataKey, follow_rotations_ ? SendableToken(*token_) : *token_);
    }
    methods->Proceed();
  }

 private:
  const std::string* token_;
  const bool follow_rotations_;
};

class TokenInterceptorFactory : public grpc::experimental::ClientInterceptorFactoryInterface {
 public:
  TokenInterceptorFactory(std::string token, bool follow_rotations)
      : token_(std::move(token)), follow_rotations_(follow_rotations) {}

  grpc::experimental::Interceptor* CreateClientInterceptor(
      grpc::experimental::ClientRpcInfo* info) override {
    return new TokenInterceptor(&token_, follow_rotations_);
  }

 private:
  const std::string token_;
  const bool follow_rotations_;
};

}  // namespace

namespace {

std::atomic<int> max_message_bytes{0};  // 0: not known yet

}  // namespace

int MaxMessageBytes() {
  if (const int known = max_message_bytes.load(std::memory_order_relaxed); known > 0) return known;
  int bytes = kDefaultMaxMessageBytes;
  if (const char* env = std::getenv("WEFT_MAX_MESSAGE_SIZE")) {
    int64_t parsed = 0;
    if (absl::SimpleAtoi(env, &parsed) && parsed >= kMinMaxMessageBytes &&
        parsed <= std::numeric_limits<int>::max()) {
      bytes = static_cast<int>(parsed);
    }
  }
  int expected = 0;
  max_message_bytes.compare_exchange_strong(expected, bytes);
  return max_message_bytes.load();
}

void SetMaxMessageBytes(int bytes) {
  if (bytes >= kMinMaxMessageBytes) max_message_bytes.store(bytes);
}

namespace {

struct LocalRoute {
  absl::Mutex mu;
  std::string advertised ABSL_GUARDED_BY(mu);
  std::string local ABSL_GUARDED_BY(mu);
};

LocalRoute& TheLocalRoute() {
  static auto* route = new LocalRoute();  // never destroyed: channels are made until exit
  return *route;
}

}  // namespace

void SetLocalRoute(const std::string& advertised, const std::string& local) {
  LocalRoute& route = TheLocalRoute();
  absl::MutexLock lock(&route.mu);
  route.advertised = advertised;
  route.local = local;
}

std::string RouteOf(const std::string& address) {
  LocalRoute& route = TheLocalRoute();
  absl::MutexLock lock(&route.mu);
  return !route.advertised.empty() && address == route.advertised ? route.local : address;
}

std::shared_ptr<grpc::Channel> MakeChannel(const std::string& address, const std::string& token,
                                           bool follow_rotations) {
  std::vector<std::unique_ptr<grpc::experimental::ClientInterceptorFactoryInterface>> factories;
  factories.push_back(std::make_unique<TokenInterceptorFactory>(token, follow_rotations));
  grpc::ChannelArguments args;
  // Control-plane peers come and go; reconnect quickly once they are back.
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 100);
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 1000);
  // A silent peer (host down, network cut) fails the calls in flight within
  // kKeepaliveTime + kKeepaliveTimeout, not when TCP gives up minutes later.
  args.SetInt(GRPC_ARG_KEEPALIVE_TIME_MS, static_cast<int>(kKeepaliveTime.count()));
  args.SetInt(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, static_cast<int>(kKeepaliveTimeout.count()));
  args.SetInt(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 0);
  args.SetInt(GRPC_ARG_HTTP2_MAX_PINGS_WITHOUT_DATA, 0);
  args.SetMaxReceiveMessageSize(MaxMessageBytes());
  args.SetMaxSendMessageSize(MaxMessageBytes());
  return grpc::experimental::CreateCustomChannelWithInterceptors(
      RouteOf(address), CurrentChannelCredentials(), args, std::move(factories));
}

void SetTimeout(grpc::ClientContext& context, std::chrono::milliseconds timeout) {
  context.set_deadline(std::chrono::system_clock::now() + timeout);
}

std::unique_ptr<grpc::ClientContext> ContextWithTimeout(std::chrono::milliseconds timeout) {
  auto context = std::make_unique<grpc::ClientContext>();
  SetTimeout(*context, timeout);
  return context;
}

void ConfigureServer(grpc::ServerBuilder& builder) {
  // Without these, a server answers pings more frequent than every 5 minutes with GOAWAY.
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS,
                             static_cast<int>(kKeepaliveTime.count() / 2));
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MAX_PING_STRIKES, 0);
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  // A client that vanished (host down, link cut) is found by the server's own pings.
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIME_MS, 60 * 1000);
  builder.AddChannelArgument(
      GRPC_ARG_KEEPALIVE_TIMEOUT_MS,
      static_cast<int>(std::chrono::milliseconds(kServerKeepaliveTimeout).count()));
  builder.AddChannelArgument(
      GRPC_ARG_SERVER_HANDSHAKE_TIMEOUT_MS,
      static_cast<int>(std::chrono::milliseconds(kHandshakeTimeout).count()));
  builder.SetMaxReceiveMessageSize(MaxMessageBytes());
  builder.SetMaxSendMessageSize(MaxMessageBytes());
  builder.AddChannelArgument(GRPC_ARG_MAX_CONCURRENT_STREAMS, kMaxStreamsPerConnection);
  builder.AddChannelArgument(
      GRPC_ARG_MAX_CONNECTION_IDLE_MS,
      static_cast<int>(std::chrono::milliseconds(kMaxConnectionIdle).count()));
}

grpc::ServerUnaryReactor* FinishWith(grpc::CallbackServerContext* context,
                                     const absl::Status& status) {
  auto* reactor = context->DefaultReactor();
  reactor->Finish(ToGrpcStatus(status));
  return reactor;
}

namespace {

// The outcome of a TCP connect to each address `address` names (0: connected; an errno, e.g.
// ECONNREFUSED; EINPROGRESS when `timeout` ran out), stopping at the first that `stop` takes.
// `connected`, if given, sees each connected socket before it is closed. Empty when the name
// does not resolve.
std::vector<int> ConnectEach(const std::string& address, std::chrono::milliseconds timeout,
                             const std::function<bool(int)>& stop,
                             const std::function<void(int)>& connected = nullptr) {
  const size_t colon = address.rfind(':');
  if (colon == std::string::npos) return {};
  std::string host = address.substr(0, colon);
  if (absl::StartsWith(host, "[")) host = host.substr(1, host.size() - 2);
  addrinfo hints{}, *found = nullptr;
  hints.ai_socktype = SOCK_STREAM;
  if (getaddrinfo(host.c_str(), address.substr(colon + 1).c_str(), &hints, &found) != 0 || !found) {
    return {};
  }
  std::vector<int> outcomes;
  for (const addrinfo* candidate = found; candidate; candidate = candidate->ai_next) {
    const int fd = socket(candidate->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int error = fd < 0                                                        ? errno
                : connect(fd, candidate->ai_addr, candidate->ai_addrlen) == 0 ? 0
                                                                              : errno;
    if (fd >= 0 && error == EINPROGRESS) {
      pollfd p{fd, POLLOUT, 0};
      if (poll(&p, 1, static_cast<int>(timeout.count())) == 1) {
        socklen_t length = sizeof(error);
        getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length);
      }
    }
    if (fd >= 0 && error == 0 && connected) connected(fd);
    if (fd >= 0) close(fd);
    outcomes.push_back(error);
    if (stop(error)) break;
  }
  freeaddrinfo(found);
  return outcomes;
}

}  // namespace

bool ConnectionRefused(const std::string& address, std::chrono::milliseconds timeout) {
  // Refused only when every address of the name refuses ("localhost" may name ::1 first while
  // the peer listens on 127.0.0.1 only).
  const auto outcomes =
      ConnectEach(address, timeout, [](int error) { return error != ECONNREFUSED; });
  return !outcomes.empty() && std::all_of(outcomes.begin(), outcomes.end(),
                                          [](int error) { return error == ECONNREFUSED; });
}

bool AcceptsConnections(const std::string& address, std::chrono::milliseconds timeout) {
  const auto outcomes = ConnectEach(address, timeout, [](int error) { return error == 0; });
  return std::find(outcomes.begin(), outcomes.end(), 0) != outcomes.end();
}

bool ClosedAtOnce(const std::string& address, std::chrono::milliseconds wait) {
  bool closed = false;
  ConnectEach(
      address, wait, [](int error) { return error == 0; },
      [&closed, wait](int fd) {
        pollfd p{fd, POLLIN, 0};
        if (poll(&p, 1, static_cast<int>(wait.count())) != 1) return;
        char byte;
        const ssize_t n = recv(fd, &byte, 1, MSG_DONTWAIT);
        closed = n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK);
      });
  return closed;
}

void TurnOffMutexDeadlockDetection() {
  const char* keep = std::getenv("WEFT_MUTEX_DEADLOCK_DETECTION");
  if (keep && std::string_view(keep) == "1") return;
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
}

void PinCallbackQueue() {
  static const bool pinned = [] {
    // Nothing listens on port 1: the call fails at once, the channel stays, never freed.
    auto* channel = new std::shared_ptr<grpc::Channel>(
        grpc::CreateChannel("127.0.0.1:1", grpc::InsecureChannelCredentials()));
    auto* stub = proto::NodeDirectory::NewStub(*channel).release();
    CallAsync<proto::ListNodesReply>(
        ContextWithTimeout(std::chrono::seconds(1)), proto::ListNodesRequest(),
        [stub](auto... args) { stub->async()->ListNodes(args...); },
        [](const absl::Status&, const proto::ListNodesReply&) {});
    return true;
  }();
  (void)pinned;
}

}  // namespace weft
