#include "worker/actor_loop.h"

#include "worker/output_tag.h"

namespace weft::worker {

ActorLoop::ActorLoop(const std::string& class_name, SharedPool& pool)
    : Loop("async actor " + class_name),
      class_name_(class_name),
      pool_(pool),
      // The queue runs handlers only while the loop is not stopped, and the destructor stops
      // it and waits for a running one: `this` outlives every handler (the loop must not be
      // destroyed on one of its own handlers: see SerialQueue::Join).
      queue_(SerialQueue::Create(pool, [this](std::function<void()>& handler) {
        Running running(this);
        ScopedOutputTag tag(&class_name_);
        handler();
      })) {}

ActorLoop::~ActorLoop() {
  Stop();
  Join();
}

}  // namespace weft::worker
