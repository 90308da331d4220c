#pragma once

#include <deque>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "common/auth.h"
#include "token.grpc.pb.h"

namespace weft {

// How a rotated cluster token reaches every process (weft token rotate, issue 13): the head
// tells its nodes and drivers, each node its workers, with TokenHolder.AdoptToken. A process
// that missed it (a worker starting, a node cut off, a driver started with the old token) is
// told in the answer to its next registration or heartbeat (RotationToTell).

// A rotation on the wire (AdoptTokenRequest: durations from now), and back.
proto::AdoptTokenRequest RotationMessage(const TokenRotation& rotation);
TokenRotation RotationFrom(const proto::AdoptTokenRequest& message);

// True, with `told` set, when the call carries a token that a rotation under way here replaces:
// its caller does not know it yet.
bool RotationToTell(const TokenAuth& auth, const grpc::ServerContextBase& context,
                    proto::AdoptTokenRequest* told);

// What handing a rotation on to some processes came to.
struct TokenPassed {
  int took = 0;
  int workers = 0;                       // the workers of the nodes that took it
  std::vector<std::string> unreachable;  // addresses (and their nodes' workers) that did not
  std::vector<std::string> warnings;     // what those that took it could not do
};

// Tells the processes at `addresses` (in parallel, each within `timeout`) that `to` replaces
// `from`, which each call carries; blocks until every one has answered or failed.
TokenPassed PassTokenOn(const std::vector<std::string>& addresses, const std::string& from,
                        const TokenRotation& rotation, std::chrono::milliseconds timeout);

// The TokenHolder service of a node, a worker or a driver: adopts the rotation a call brings,
// from the token the call carries, then (a node) hands it on before answering.
class TokenHolderService final : public proto::TokenHolder::CallbackService {
 public:
  // What else a node does before it answers (tell its workers, keep the token in its files); it
  // may block, and runs on the service's one thread, a rotation at a time. Unset for workers
  // and drivers.
  using PassOnFn =
      std::function<proto::AdoptTokenReply(const std::string& from, const TokenRotation& rotation)>;
  explicit TokenHolderService(const TokenAuth& auth, PassOnFn pass_on = nullptr)
      : auth_(auth), pass_on_(std::move(pass_on)) {}
  ~TokenHolderService();  // waits for the hand-on under way

  // Adopts `rotation` from `from` (a head's own node finds it known already: it is still
  // handed on); `done` gets the reply, on the service's thread when it is handed on.
  [[nodiscard]] absl::Status Adopt(const std::string& from, const TokenRotation& rotation,
                                   std::function<void(proto::AdoptTokenReply)> done);

  grpc::ServerUnaryReactor* AdoptToken(grpc::CallbackServerContext* ctx,
                                       const proto::AdoptTokenRequest* req,
                                       proto::AdoptTokenReply* rep) override;

 private:
  struct HandOn {
    std::string from;
    TokenRotation rotation;
    std::function<void(proto::AdoptTokenReply)> done;
  };
  void HandOnLoop();

  const TokenAuth& auth_;
  const PassOnFn pass_on_;
  absl::Mutex mu_;
  std::deque<HandOn> queue_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;  // started with the first hand-on
};

}  // namespace weft
