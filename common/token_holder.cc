#include "common/token_holder.h"

#include <grpcpp/completion_queue.h>

#include "absl/strings/str_cat.h"
#include "common/logging.h"
#include "common/rpc.h"
#include "common/status.h"

namespace weft {

proto::AdoptTokenRequest RotationMessage(const TokenRotation& rotation) {
  proto::AdoptTokenRequest message;
  message.set_token(rotation.to);
  const absl::Time now = absl::Now();
  message.set_send_in_ms(std::max<int64_t>(0, absl::ToInt64Milliseconds(rotation.send_at - now)));
  message.set_refuse_old_in_ms(
      std::max<int64_t>(0, absl::ToInt64Milliseconds(rotation.refuse_old_at - now)));
  return message;
}

TokenRotation RotationFrom(const proto::AdoptTokenRequest& message) {
  const absl::Time now = absl::Now();
  return {.to = message.token(),
          .send_at = now + absl::Milliseconds(message.send_in_ms()),
          .refuse_old_at = now + absl::Milliseconds(message.refuse_old_in_ms())};
}

bool RotationToTell(const TokenAuth& auth, const grpc::ServerContextBase& context,
                    proto::AdoptTokenRequest* told) {
  const std::string presented = auth.Presented(context);
  if (presented.empty()) return false;
  const TokenState state = TokenStateOf(presented);
  if (state.token != presented || !state.rotation) return false;
  *told = RotationMessage(*state.rotation);
  return true;
}

TokenPassed PassTokenOn(const std::vector<std::string>& addresses, const std::string& from,
                        const TokenRotation& rotation, std::chrono::milliseconds timeout) {
  const proto::AdoptTokenRequest request = RotationMessage(rotation);
  struct Call {
    std::string address;
    std::unique_ptr<proto::TokenHolder::Stub> stub;
    grpc::ClientContext context;
    proto::AdoptTokenReply reply;
    grpc::Status status;
    std::unique_ptr<grpc::ClientAsyncResponseReader<proto::AdoptTokenReply>> reader;
  };
  // One thread, every call at once: a completion queue of this function's own.
  grpc::CompletionQueue queue;
  std::vector<std::unique_ptr<Call>> calls;
  for (const auto& address : addresses) {
    auto call = std::make_unique<Call>();
    call->address = address;
    // The peer may not know the new token yet: the call carries the old one.
    call->stub = proto::TokenHolder::NewStub(MakeChannel(address, from, false));
    SetTimeout(call->context, timeout);
    call->reader = call->stub->AsyncAdoptToken(&call->context, request, &queue);
    call->reader->Finish(&call->reply, &call->status, call.get());
    calls.push_back(std::move(call));
  }
  TokenPassed passed;
  for (size_t answered = 0; answered < calls.size(); ++answered) {
    void* tag = nullptr;
    bool ok = false;
    if (!queue.Next(&tag, &ok)) break;
    const auto* call = static_cast<Call*>(tag);
    if (!ok || !call->status.ok()) {
      spdlog::warn("{} did not take the rotated token: {}", call->address,
                   ok ? call->status.error_message() : "call not completed");
      passed.unreachable.push_back(call->address);
      continue;
    }
    ++passed.took;
    passed.workers += call->reply.workers();
    for (const auto& worker : call->reply.unreachable()) passed.unreachable.push_back(worker);
    for (const auto& warning : call->reply.warnings()) passed.warnings.push_back(warning);
  }
  queue.Shutdown();
  void* tag = nullptr;
  bool ok = false;
  while (queue.Next(&tag, &ok)) {
  }
  return passed;
}

TokenHolderService::~TokenHolderService() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  if (thread_.joinable()) thread_.join();
}

absl::Status TokenHolderService::Adopt(const std::string& from, const TokenRotation& rotation,
                                       std::function<void(proto::AdoptTokenReply)> done) {
  // The grace is at most an hour (the head checks it); the token is checked on adoption.
  const absl::Duration grace = rotation.refuse_old_at - absl::Now();
  if (grace > absl::Hours(1) + absl::Minutes(1) || rotation.send_at > rotation.refuse_old_at) {
    return absl::InvalidArgumentError("not a token rotation");
  }
  auto changed = AdoptTokenRotation(from, rotation);
  if (!changed.ok()) return changed.status();
  if (*changed) {
    // A node says so in its log; a driver keeps its user's output clean.
    spdlog::log(pass_on_ ? spdlog::level::info : spdlog::level::debug,
                "took the rotated cluster token; the old one is refused in {}",
                absl::FormatDuration(absl::Trunc(grace, absl::Milliseconds(1))));
  }
  if (!pass_on_) {
    done(proto::AdoptTokenReply());
    return absl::OkStatus();
  }
  absl::MutexLock lock(&mu_);
  if (stopping_) return absl::UnavailableError("shutting down");
  queue_.push_back({from, rotation, std::move(done)});
  if (!thread_.joinable()) thread_ = std::thread([this] { HandOnLoop(); });
  return absl::OkStatus();
}

void TokenHolderService::HandOnLoop() {
  for (;;) {
    HandOn next;
    {
      absl::MutexLock lock(&mu_);
      mu_.Await(absl::Condition(
          +[](TokenHolderService* self) ABSL_EXCLUSIVE_LOCKS_REQUIRED(self->mu_) {
            return self->stopping_ || !self->queue_.empty();
          },
          this));
      if (queue_.empty()) return;  // stopping, nothing left
      next = std::move(queue_.front());
      queue_.pop_front();
    }
    next.done(pass_on_(next.from, next.rotation));
  }
}

grpc::ServerUnaryReactor* TokenHolderService::AdoptToken(grpc::CallbackServerContext* ctx,
                                                         const proto::AdoptTokenRequest* req,
                                                         proto::AdoptTokenReply* rep) {
  auto* reactor = ctx->DefaultReactor();
  const std::string from = auth_.Presented(*ctx);
  if (from.empty()) {
    reactor->Finish(grpc::Status(grpc::StatusCode::UNAUTHENTICATED,
                                 "missing or wrong cluster token (x-weft-token)"));
    return reactor;
  }
  if (req->send_in_ms() < 0 || req->refuse_old_in_ms() < 0) {
    reactor->Finish(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "not a token rotation"));
    return reactor;
  }
  auto adopted = Adopt(from, RotationFrom(*req), [reactor, rep](proto::AdoptTokenReply reply) {
    *rep = std::move(reply);
    reactor->Finish(grpc::Status::OK);
  });
  if (!adopted.ok()) reactor->Finish(ToGrpcStatus(adopted));
  return reactor;
}

}  // namespace weft
