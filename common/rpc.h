#pragma once

#include <google/protobuf/repeated_ptr_field.h>
#include <grpcpp/channel.h>
#include <grpcpp/client_context.h>
#include <grpcpp/server_builder.h>
#include <grpcpp/support/server_callback.h>

#include <chrono>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "common/status.h"

namespace weft {

// Default deadline of control-plane calls (registration, directory look-ups, CLI queries).
inline constexpr std::chrono::milliseconds kControlRpcTimeout{5000};

// How long drivers and workers wait out a head that does not answer (killed, restarting)
// before its control-plane calls (create, get or kill an actor, follow an actor's state) fail
// with "head unavailable". Nodes wait --head-lost-timeout-ms, the same by default.
inline constexpr std::chrono::seconds kHeadUnavailableWait{60};

// Keepalive pings on every channel while calls are open: a peer that stops answering fails
// those calls after kKeepaliveTime + kKeepaliveTimeout.
inline constexpr std::chrono::milliseconds kKeepaliveTime{2000};
inline constexpr std::chrono::milliseconds kKeepaliveTimeout{2000};

// A connection must finish its handshake (TLS and HTTP/2's preface and settings) within this:
// one that sends nothing, garbage or half a handshake is closed after it, not kept for good.
inline constexpr std::chrono::seconds kHandshakeTimeout{10};

// A connection with no call open for this long is closed (its client reconnects on its next
// call): idle connections of peers that are gone do not pile up.
inline constexpr std::chrono::minutes kMaxConnectionIdle{10};

// How long a server waits for its clients' answer to its keepalive pings (sent every minute).
inline constexpr std::chrono::seconds kServerKeepaliveTimeout{20};

// Streams (calls) one connection may have open at once on a server; further ones wait at their
// client (HTTP/2's SETTINGS_MAX_CONCURRENT_STREAMS) until one ends. A call holds a stream until
// it is answered, and a unary call's token is read with its request: without a cap, one
// connection that opens streams and never finishes them would hold as many as it likes. Weft's
// own processes keep a few long streams per peer (calls, watches, a job's, logs: one each) and
// queue short calls behind them in a burst (spawns, constructions, leases), so the cap only ever
// delays a burst of those beyond it.
inline constexpr int kMaxStreamsPerConnection = 256;

// Actor creations one ActorDirectory.CreateActors call may carry.
inline constexpr int kMaxCreationsPerCall = 1024;
// Room a request leaves under the message limit for what carries it on its way: the batch or
// watch it travels in, ids a daemon fills in.
inline constexpr size_t kEnvelopeBytes = 256;

// What every server of Weft's daemons and drivers is built with: it accepts the keepalive
// pings of Weft's channels, pings its own clients, closes connections that do not finish
// their handshake (kHandshakeTimeout) or stay idle (kMaxConnectionIdle), and caps the streams
// of each connection (kMaxStreamsPerConnection).
void ConfigureServer(grpc::ServerBuilder& builder);

// The largest message a Weft process sends or accepts, the same in the whole cluster: the
// head's --max-message-size, which nodes learn when they register, drivers when they register
// their job and workers from their node ($WEFT_MAX_MESSAGE_SIZE). Large values do not need it:
// results and objects over 100 KiB move in 1 MiB chunks. It bounds what a call's arguments
// passed by value may weigh, and so what one message makes a receiver allocate.
inline constexpr int kDefaultMaxMessageBytes = 1 << 30;
inline constexpr int kMinMaxMessageBytes = 4 << 20;  // over an object chunk, a log batch
int MaxMessageBytes();  // $WEFT_MAX_MESSAGE_SIZE, else the default, until set
void SetMaxMessageBytes(int bytes);

// Moves the longest run of `queued` items from its front into the empty `outgoing` whose
// encoding stays within `limit` bytes (at least one item): a batch of calls or results written
// on a stream never exceeds the message limit, however many are queued.
template <class Item>
void TakeBatch(google::protobuf::RepeatedPtrField<Item>& queued,
               google::protobuf::RepeatedPtrField<Item>& outgoing, size_t limit) {
  size_t bytes = 0;
  int take = 0;
  for (; take < queued.size(); ++take) {
    const size_t item = queued.Get(take).ByteSizeLong() + 16;  // with its tag and length
    if (take > 0 && bytes + item > limit) break;
    bytes += item;
  }
  if (take == queued.size()) {
    outgoing.Swap(&queued);
    return;
  }
  for (int i = 0; i < take; ++i) outgoing.Add(std::move(*queued.Mutable(i)));
  queued.DeleteSubrange(0, take);
}

// A channel to `address` (host:port; see SetLocalRoute) whose every call carries the cluster
// token and whose messages may weigh up to MaxMessageBytes(). The token sent follows the rotations
// the process adopted (SendableToken), unless `follow_rotations` is false: the calls that hand a
// new token on carry the one it replaces.
std::shared_ptr<grpc::Channel> MakeChannel(const std::string& address, const std::string& token,
                                           bool follow_rotations = true);

// Channels this process makes to `advertised` (the address others know its own server by) go
// to `local` instead (where this machine reaches that server): a machine behind NAT, or one
// advertised under a load balancer's address, may not reach itself there (issue 14). One route
// per process, replacing the last; empty `advertised` clears it. The server's certificate must
// name both hosts. Thread-safe.
void SetLocalRoute(const std::string& advertised, const std::string& local);
// Where a channel to `address` goes: the local route's `local` for its `advertised`, else
// `address` itself.
std::string RouteOf(const std::string& address);

// Sets the call's deadline `timeout` from now.
void SetTimeout(grpc::ClientContext& context, std::chrono::milliseconds timeout);

// A context whose call ends `timeout` from now.
std::unique_ptr<grpc::ClientContext> ContextWithTimeout(std::chrono::milliseconds timeout);

// Starts a unary call on the callback API without blocking. `start(context, request, reply,
// callback)` issues the call, e.g. `stub->async()->Method(...)`; `done(status, reply)` runs on
// a gRPC thread. Context, request and reply live until `done` has returned.
template <typename Reply, typename Request, typename Start, typename Done>
void CallAsync(std::unique_ptr<grpc::ClientContext> context, Request request, Start start,
               Done done) {
  struct Call {
    std::unique_ptr<grpc::ClientContext> context;
    Request request;
    Reply reply;
  };
  auto call = std::make_shared<Call>(Call{std::move(context), std::move(request), Reply()});
  start(call->context.get(), &call->request, &call->reply,
        [call, done = std::move(done)](grpc::Status status) {
          done(FromGrpcStatus(status), call->reply);
        });
}

// Keeps gRPC's callback completion queue open for the rest of the process. gRPC 1.51 serves
// callback-API calls from one process-wide queue (its poller does not run in the background on
// Linux): every channel that made a callback call, and every callback server, holds a
// reference, and the last to go shuts the queue down and joins its threads, even when it goes
// on one of those threads (a call's context, which holds its channel, ending there). That
// thread then uses the freed queue: "assertion failed: prior > 0", SIGABRT. A node refused at
// join was seen to die so (1 run in 30). Every Weft process calls this once at start: a
// channel that made one callback call, never freed.
void PinCallbackQueue();

// Debian's Abseil is built without NDEBUG, so every absl::Mutex lock, gRPC's own included, also
// updates a process-wide graph of lock order to detect deadlocks: about 8% of the CPU of a
// one-at-a-time actor call (perf, all of a call's processes on one core). Every Weft process
// turns it off at start, unless WEFT_MUTEX_DEADLOCK_DETECTION=1 is set (the sanitized tests set
// it, to keep catching lock-order inversions).
void TurnOffMutexDeadlockDetection();

// For callback handlers: a reactor finished with `status`.
grpc::ServerUnaryReactor* FinishWith(grpc::CallbackServerContext* context,
                                     const absl::Status& status);

// True when a TCP connection to every address of `address` (host:port) is refused within
// `timeout`: its host answers and nothing listens on that port (the process is gone). False
// when one connects, a host cannot be reached, or the time runs out. Blocks up to `timeout`
// per address. A firewall that rejects (iptables REJECT's default ICMP answer) reads as
// refused too.
bool ConnectionRefused(const std::string& address, std::chrono::milliseconds timeout);
// True when a TCP connection to `address` (one of the addresses its name resolves to) completes
// within `timeout`: something listens there, whatever it then says.
bool AcceptsConnections(const std::string& address, std::chrono::milliseconds timeout);
// True when a TCP connection to `address` completes but is closed or reset by the peer within
// `wait` though nothing was sent: what a server at its connection limits does (a TLS or gRPC
// server waits for its client to speak first).
bool ClosedAtOnce(const std::string& address, std::chrono::milliseconds wait);

}  // namespace weft
