#include "client/src/loop.h"

#include <asio/post.hpp>
#include <asio/steady_timer.hpp>
#include <memory>

#include "client/src/call_token.h"
#include "weft/error.h"

namespace weft::internal {
namespace {
thread_local Loop* current_loop = nullptr;
thread_local const std::string* current_owner = nullptr;
}  // namespace

Loop::Loop(std::string owner) : owner_(std::move(owner)), work_(context_.get_executor()) {}

Loop::~Loop() {
  Stop();
  Join();
}

void Loop::Join() {
  if (thread_.joinable() && thread_.get_id() != std::this_thread::get_id()) thread_.join();
}

void Loop::Start() {
  thread_ = std::thread([this] { RunOnThisThread(); });
}

void Loop::RunHere() { RunOnThisThread(); }

void Loop::RunOnThisThread() {
  Loop* outer_loop = current_loop;
  const std::string* outer_owner = current_owner;
  current_loop = this;
  current_owner = owner_.empty() ? nullptr : &owner_;
  context_.run();
  current_loop = outer_loop;
  current_owner = outer_owner;
}

void Loop::Stop() {
  work_.reset();
  context_.stop();
}

void Loop::Post(std::coroutine_handle<> handle) {
  asio::post(context_, [handle] { handle.resume(); });
}

void Loop::CheckMayBlock(const char* what) {
  if (!current_owner) return;
  throw Error(9, std::string(what) + " would block the event loop of " + *current_owner +
                     "; use `co_await` on the reference instead");
}

Loop* CurrentLoop() { return current_loop; }

void WakeAfter(std::chrono::nanoseconds delay, const std::shared_ptr<Suspension>& suspension) {
  Loop* loop = suspension->loop();
  if (!loop) {
    throw Error(9, "weft::Sleep needs an event loop: use it in an async actor or under RunSync");
  }
  auto timer = std::make_shared<asio::steady_timer>(loop->context(), delay);
  timer->async_wait([timer, suspension](const std::error_code&) { suspension->Wake(); });
}

void RunOnFreshLoop(void (*start)(void*, void (*)(void*), void*), void* arg) {
  Loop::CheckMayBlock("weft::RunSync");
  Loop loop;
  struct Finish {
    static void Stop(void* l) { static_cast<Loop*>(l)->Stop(); }
  };
  // The task starts on the loop's thread (this one), so its coroutines resume here.
  asio::post(loop.context(), [&] { start(arg, &Finish::Stop, &loop); });
  loop.RunHere();
}

}  // namespace weft::internal
