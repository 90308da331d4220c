#include "client/src/actor_creator.h"

#include <grpcpp/client_context.h>

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "client/src/head_calls.h"
#include "common/rpc.h"
#include "common/status.h"

namespace weft::internal {

using Clock = std::chrono::steady_clock;

ActorCreator::ActorCreator(proto::ActorDirectory::Stub& head, std::string head_address)
    : head_(head), head_address_(std::move(head_address)) {
  absl::MutexLock lock(&mu_);  // Run starts once thread_id_ is set
  thread_ = std::thread([this] {
    { absl::MutexLock started(&mu_); }
    Run();
  });
  thread_id_ = thread_.get_id();
}

ActorCreator::~ActorCreator() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  thread_.join();
}

void ActorCreator::Create(proto::CreateActorRequest request, Done done) {
  absl::MutexLock lock(&mu_);
  unanswered_.insert(request.spec().actor_id());
  queue_.push_back(Item{std::move(request), std::move(done)});
}

void ActorCreator::WaitAnswered(const std::string& actor_id) {
  if (std::this_thread::get_id() == thread_id_) return;  // a Done of its own: it cannot wait
  absl::MutexLock lock(&mu_);
  while (unanswered_.contains(actor_id)) answered_cv_.Wait(&mu_);
}

void ActorCreator::Flush(std::chrono::milliseconds timeout) {
  if (std::this_thread::get_id() == thread_id_) return;
  const absl::Time deadline = absl::Now() + absl::FromChrono(timeout);
  absl::MutexLock lock(&mu_);
  while (!unanswered_.empty()) {
    if (answered_cv_.WaitWithDeadline(&mu_, deadline)) return;
  }
}

void ActorCreator::Run() {
  auto pause = std::chrono::milliseconds(100);
  std::vector<Item> batch;
  for (;;) {
    {
      absl::MutexLock lock(&mu_);
      if (batch.empty()) {  // else: what found the head away, asked again
        mu_.Await(absl::Condition(
            +[](ActorCreator* self) ABSL_NO_THREAD_SAFETY_ANALYSIS {
              return !self->queue_.empty() || self->stopping_;
            },
            this));
        if (queue_.empty()) return;  // stopping, with nothing left to send
      }
      // Each creation's framing in the call counted too; one alone always fits (Actor checks
      // each against the limit with room to spare).
      const size_t budget = std::min<size_t>(kBatchBytes, MaxMessageBytes() / 2);
      size_t bytes = 0;
      for (const Item& item : batch) bytes += item.request.ByteSizeLong() + kFramingBytes;
      while (batch.size() < kInFlight && !queue_.empty()) {
        const size_t next = queue_.front().request.ByteSizeLong() + kFramingBytes;
        if (!batch.empty() && bytes + next > budget) break;
        bytes += next;
        batch.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
    }
    const size_t sent = batch.size();
    SendBatch(batch);
    if (batch.empty() || batch.size() < sent) pause = std::chrono::milliseconds(100);
    bool stopping;
    {
      absl::MutexLock lock(&mu_);
      stopping = stopping_;
    }
    if (!batch.empty() && !stopping) {
      // The head is away: wait a little before asking again (each try waited for the
      // connection already; a head that refuses at once is not asked in a loop).
      std::this_thread::sleep_for(pause);
      pause = std::min(2 * pause, std::chrono::milliseconds(1000));
    }
  }
}

void ActorCreator::SendBatch(std::vector<Item>& batch) {
  static_assert(kInFlight <= kMaxCreationsPerCall);
  // One call for the whole batch: the head's round trip and a call's cost, once per batch.
  proto::CreateActorsRequest request;
  for (Item& item : batch) *request.add_creations() = std::move(item.request);
  grpc::ClientContext context;
  context.set_wait_for_ready(true);  // a restarting head: wait for it to listen again
  SetTimeout(context, kControlRpcTimeout);
  proto::CreateActorsReply reply;
  grpc::Status status = head_.CreateActors(&context, request, &reply);
  if (status.ok() && reply.answers_size() != static_cast<int>(batch.size())) {
    status = grpc::Status(grpc::StatusCode::INTERNAL,
                          absl::StrCat("the head answered ", reply.answers_size(), " of ",
                                       batch.size(), " creations"));
  }
  for (size_t i = 0; i < batch.size(); ++i) {
    batch[i].request = std::move(*request.mutable_creations(static_cast<int>(i)));
  }
  std::vector<Item> again;
  bool stopping;
  {
    absl::MutexLock lock(&mu_);
    stopping = stopping_;  // the process is ending: a head away is not waited for
  }
  const auto now = Clock::now();
  for (size_t i = 0; i < batch.size(); ++i) {
    Item& item = batch[i];
    const bool away = status.error_code() == grpc::StatusCode::UNAVAILABLE ||
                      status.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED;
    if (away && item.give_up == Clock::time_point{}) item.give_up = now + kHeadUnavailableWait;
    if (away && now < item.give_up && !stopping) {
      again.push_back(std::move(item));
      continue;
    }
    absl::StatusOr<proto::ActorInfo> answer;
    if (status.ok()) {
      proto::CreateActorAnswer& one = *reply.mutable_answers(static_cast<int>(i));
      if (one.code() == 0) {
        answer = std::move(*one.mutable_actor());
      } else {
        answer = absl::Status(static_cast<absl::StatusCode>(one.code()), one.message());
      }
    } else if (away) {
      answer = absl::UnavailableError(HeadUnavailable(head_address_, status.error_message()));
    } else {
      answer = FromGrpcStatus(status);
    }
    // Told before WaitAnswered lets a Kill go: the actor is then tracked as the head has it.
    item.done(std::move(answer));
    {
      absl::MutexLock lock(&mu_);
      unanswered_.erase(item.request.spec().actor_id());
    }
    answered_cv_.SignalAll();
  }
  batch = std::move(again);
}

}  // namespace weft::internal
