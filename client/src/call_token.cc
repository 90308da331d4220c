#include "client/src/call_token.h"

#include <algorithm>

#include "absl/time/clock.h"
#include "client/src/loop.h"
#include "weft/cancel.h"
#include "weft/error.h"
#include "weft/generator.h"
#include "weft/object_ref.h"

namespace weft {
namespace internal {
namespace {
thread_local std::shared_ptr<CallToken> current_call;
thread_local const std::string* current_name = nullptr;
}  // namespace

void Suspension::Wake() {
  if (woken_.exchange(true)) return;
  if (!has_loop_) {
    CallToken::Scope scope(token_);
    handle_.resume();
    return;
  }
  const std::shared_ptr<Loop> loop = loop_.lock();
  if (!loop) return;
  loop->Post([handle = handle_, token = token_] {
    CallToken::Scope scope(token);
    handle.resume();
  });
}

bool CallToken::TryStart() {
  int queued = kQueued;
  if (!state_.compare_exchange_strong(queued, kRunning)) return false;
  started_us_.store(absl::ToUnixMicros(absl::Now()), std::memory_order_relaxed);
  return true;
}

bool CallToken::CancelBeforeStart() {
  int queued = kQueued;
  if (!state_.compare_exchange_strong(queued, kCancelledBeforeStart)) return false;
  requested_ = true;
  return true;
}

void CallToken::RequestCancel() {
  std::shared_ptr<Suspension> waiting;
  {
    std::lock_guard lock(mu_);
    requested_ = true;
    due_ = true;
    waiting = suspended_.lock();
    suspended_.reset();
  }
  if (waiting) waiting->Wake();
}

bool CallToken::SuspendAt(const std::shared_ptr<Suspension>& suspension) {
  std::lock_guard lock(mu_);
  if (due_) return false;
  suspended_ = suspension;
  return true;
}

bool CallToken::TakeDue() {
  std::lock_guard lock(mu_);
  return std::exchange(due_, false);
}

void CallToken::AddChild(std::string object_id) {
  std::lock_guard lock(mu_);
  if (children_.size() >= children_kept_) {
    std::erase_if(children_, [](const std::string& id) { return ObjectReady(id); });
    children_kept_ = std::max<size_t>(64, children_.size() * 2);
  }
  children_.push_back(std::move(object_id));
}

std::vector<std::string> CallToken::TakeChildren() {
  std::lock_guard lock(mu_);
  return std::exchange(children_, {});
}

CallToken* CallToken::Current() { return current_call.get(); }
std::shared_ptr<CallToken> CallToken::CurrentShared() { return current_call; }

const std::string* CallToken::CurrentName() { return current_name; }

CallToken::Scope::Scope(std::shared_ptr<CallToken> token)
    : outer_(std::exchange(current_call, std::move(token))), outer_name_(current_name) {
  current_name = current_call && !current_call->name().empty() ? &current_call->name() : nullptr;
}
CallToken::Scope::~Scope() {
  current_call = std::move(outer_);
  current_name = outer_name_;
}

std::shared_ptr<Suspension> Suspend(std::coroutine_handle<> handle) {
  Loop* loop = CurrentLoop();
  auto suspension = std::make_shared<Suspension>(
      handle, loop ? loop->weak_from_this() : std::weak_ptr<Loop>(), current_call);
  if (current_call && !current_call->SuspendAt(suspension)) return nullptr;
  return suspension;
}

void Wake(const std::shared_ptr<Suspension>& suspension) { suspension->Wake(); }

void DeliverCancellation() {
  if (current_call && current_call->TakeDue()) throw CancelledError();
}

std::shared_ptr<ItemSink> CurrentItemSink() {
  if (!current_call || !current_call->sink()) {
    throw Error(static_cast<int>(ErrorCode::kFailedPrecondition),
                "a weft::Generator runs only as a streaming call (its caller iterates the "
                "ObjectRefGenerator that the call returns)");
  }
  return current_call->shared_sink();
}

void SendStreamItem(ItemSink& sink, PackedResult item) { sink.Send(std::move(item)); }

bool StreamRoom::await_ready() const { return sink->HasRoom(); }

bool StreamRoom::await_suspend(std::coroutine_handle<> handle) const {
  auto suspension = Suspend(handle);
  if (!suspension) return false;  // cancelled: await_resume throws
  return !sink->RoomOrWake(suspension);
}

}  // namespace internal

bool CancelRequested() {
  const auto* token = internal::CallToken::Current();
  return token && token->cancel_requested();
}

}  // namespace weft
