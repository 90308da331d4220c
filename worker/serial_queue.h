#pragma once

#include <condition_variable>
#include <functional>
#include <list>
#include <memory>
#include <mutex>
#include <thread>

#include "worker/shared_pool.h"

namespace weft::worker {

class SerialQueue;

// Lets the thread that posts an item to an idle SerialQueue run it itself, instead of waking a
// pool thread for it: the gRPC thread that read an actor's call runs it (CallReactor), one
// thread wake fewer per call. While a CallerRuns is open on a thread, the first item that
// thread posts to an idle queue is kept, the queue counting it as running, until Run; later
// items of that queue wait behind it and go to the pool. One thread of the process keeps an
// item at a time, so calls that block (a weft::Get, a sleep) hold at most one of gRPC's
// threads; while it runs, other threads' items go to the pool as before.
class CallerRuns {
 public:
  CallerRuns();
  ~CallerRuns();  // runs the kept item, if Run did not
  CallerRuns(const CallerRuns&) = delete;
  CallerRuns& operator=(const CallerRuns&) = delete;

  // Runs the kept item here, if any (none if its queue was stopped meanwhile). Items posted
  // while it runs are not kept.
  void Run();

 private:
  friend class SerialQueue;
  // The open CallerRuns of this thread that may keep an item now, taking the process's one
  // turn; null if none.
  static CallerRuns* TakeTurn();

  CallerRuns* const outer_;
  bool used_ = false;  // it took the turn once: it keeps no further item
  std::shared_ptr<SerialQueue> queue_;
  std::function<void()> item_;
};

// Work that runs one item at a time, in the order posted, on the worker's SharedPool (a
// strand): while the queue has items, one pool task drains them, a few at a time, then queues
// itself again so that busy queues take turns. An idle queue holds no thread. The pool task
// shares the queue, so the queue's owner may go first: once stopped, the queue runs nothing.
class SerialQueue : public std::enable_shared_from_this<SerialQueue> {
 public:
  // Runs one item; e.g. `[](auto& item) { ScopedOutputTag tag(name); item(); }`.
  using Runner = std::function<void(std::function<void()>& item)>;

  static std::shared_ptr<SerialQueue> Create(SharedPool& pool, Runner run) {
    return std::shared_ptr<SerialQueue>(new SerialQueue(pool, std::move(run)));
  }

  // Runs `item` after the items posted before it; nothing once stopped.
  void Post(std::function<void()> item);
  // Runs no more items: queued ones are dropped (destroyed here), later ones ignored.
  void Stop();
  // Waits until no item runs; at once on the thread that runs one (it cannot end first). So
  // the queue's owner must not be destroyed on one of the queue's own items: Join would not
  // wait, and the item would go on with its owner gone (ActorHost stops and destroys actors
  // on threads of their own).
  void Join();

 private:
  friend class CallerRuns;
  static constexpr int kTurn = 64;  // items per pool task before giving the thread a turn

  SerialQueue(SharedPool& pool, Runner run) : pool_(pool), run_(std::move(run)) {}
  static void Drain(const std::shared_ptr<SerialQueue>& queue);
  // Runs an item kept by a CallerRuns (a drop if the queue was stopped), then hands the items
  // posted meanwhile to the pool.
  void RunKept(std::function<void()> item);

  SharedPool& pool_;
  const Runner run_;
  std::mutex mu_;
  std::condition_variable idle_;
  // A list, not a deque: an empty deque still holds a block of 512 bytes, and a worker holds
  // an idle queue per actor.
  std::list<std::function<void()>> items_;
  bool scheduled_ = false;      // a pool task is draining
  std::thread::id running_on_;  // the thread running an item; none when idle
  bool stopped_ = false;
};

}  // namespace weft::worker
