#include "client/src/loop.h"

#include <asio/post.hpp>
#include <asio/steady_timer.hpp>

#include "client/src/call_token.h"
#include "weft/error.h"

namespace weft::internal {
namespace {
thread_local Loop* current_loop = nullptr;
thread_local const std::string* current_owner = nullptr;
}  // namespace

Loop::Running::Running(Loop* loop) : outer_loop_(current_loop), outer_owner_(current_owner) {
  current_loop = loop;
  current_owner = loop->owner_.empty() ? nullptr : &loop->owner_;
}

Loop::Running::~Running() {
  current_loop = outer_loop_;
  current_owner = outer_owner_;
}

void Loop::CheckMayBlock(const char* what) {
  if (!current_owner) return;
  throw Error(9, std::string(what) + " would block the event loop of " + *current_owner +
                     "; use `co_await` on the reference instead");
}

void ThreadLoop::Post(std::function<void()> work) { asio::post(context_, std::move(work)); }

void ThreadLoop::After(std::chrono::nanoseconds delay, std::function<void()> work) {
  auto timer = std::make_shared<asio::steady_timer>(context_, delay);
  timer->async_wait([timer, work = std::move(work)](const std::error_code&) { work(); });
}

void ThreadLoop::Run() {
  Running running(this);
  context_.run();
}

void ThreadLoop::Stop() {
  work_.reset();
  context_.stop();
}

Loop* CurrentLoop() { return current_loop; }

void WakeAfter(std::chrono::nanoseconds delay, const std::shared_ptr<Suspension>& suspension) {
  if (!suspension->has_loop()) {
    throw Error(9, "weft::Sleep needs an event loop: use it in an async actor or under RunSync");
  }
  const std::shared_ptr<Loop> loop = suspension->loop();
  if (loop) loop->After(delay, [suspension] { suspension->Wake(); });
}

void RunOnFreshLoop(void (*start)(void*, void (*)(void*), void*), void* arg) {
  Loop::CheckMayBlock("weft::RunSync");
  auto loop = std::make_shared<ThreadLoop>();
  struct Finish {
    static void Stop(void* l) { static_cast<ThreadLoop*>(l)->Stop(); }
  };
  // The task starts on the loop's thread (this one), so its coroutines resume here.
  loop->Post([&] { start(arg, &Finish::Stop, loop.get()); });
  loop->Run();
}

}  // namespace weft::internal
