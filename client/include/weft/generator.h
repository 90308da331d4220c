#pragma once

// Streaming results, as Ray's `num_returns="streaming"`: a method or task returning
// `weft::Generator<T>` yields values with `co_yield`, and its caller iterates them as they are
// produced:
//
//   weft::Generator<int> Squares(int n) {                    // an actor method, or a task
//     for (int i = 0; i < n; ++i) co_yield i * i;
//   }
//   for (weft::ObjectRef<int> item : actor.Call(&C::Squares, 5)) use(item.Get());
//
// Each item is an object of its own (large ones stay in the producer's store, as results do),
// available as soon as it is yielded. The producer runs at most `stream_window` items ahead
// of what the caller has taken (CallOptions / TaskOptions, 64 by default: backpressure): at
// that many it waits at its co_yield. An
// exception thrown by the generator ends the stream with that error at that position: the
// item there throws it from Get, and the iteration ends after it. A generator may co_await
// weft's awaitables between its yields (on a threaded actor or in a task it runs on an event
// loop of its own, as RunSync does).

#include <chrono>
#include <coroutine>
#include <cstdint>
#include <exception>
#include <iterator>
#include <memory>
#include <optional>
#include <string>
#include <utility>

#include "weft/async.h"
#include "weft/error.h"
#include "weft/object_ref.h"
#include "weft/registry.h"

namespace weft {

template <class T>
class Generator {
 public:
  struct promise_type {
    std::coroutine_handle<> consumer;
    std::optional<internal::PackedResult> item;
    std::exception_ptr error;

    Generator get_return_object() {
      return Generator(std::coroutine_handle<promise_type>::from_promise(*this));
    }
    std::suspend_always initial_suspend() noexcept { return {}; }
    // At a co_yield and at the end, control goes back to the consumer.
    struct ToConsumer {
      bool await_ready() noexcept { return false; }
      std::coroutine_handle<> await_suspend(std::coroutine_handle<promise_type> self) noexcept {
        return self.promise().consumer ? self.promise().consumer : std::noop_coroutine();
      }
      void await_resume() noexcept {}
    };
    ToConsumer final_suspend() noexcept { return {}; }
    template <class U>
    ToConsumer yield_value(U&& value) {
      item.emplace(internal::PackResult(static_cast<const T&>(T(std::forward<U>(value)))));
      return {};
    }
    void return_void() {}
    void unhandled_exception() { error = std::current_exception(); }
  };

  explicit Generator(std::coroutine_handle<promise_type> handle) : handle_(handle) {}
  Generator(Generator&& other) noexcept : handle_(std::exchange(other.handle_, {})) {}
  Generator& operator=(Generator&& other) noexcept {
    if (this != &other) {
      if (handle_) handle_.destroy();
      handle_ = std::exchange(other.handle_, {});
    }
    return *this;
  }
  Generator(const Generator&) = delete;
  Generator& operator=(const Generator&) = delete;
  ~Generator() {
    if (handle_) handle_.destroy();  // a generator ended early unwinds its frame
  }

  // `co_await gen.Next()`: runs the generator to its next co_yield; the item packed, or
  // nullopt at its end. Rethrows what the generator threw. (Internal: the worker drives it.)
  auto Next() {
    struct Awaiter {
      std::coroutine_handle<promise_type> handle;
      bool await_ready() const noexcept { return handle.done(); }
      std::coroutine_handle<> await_suspend(std::coroutine_handle<> consumer) noexcept {
        handle.promise().consumer = consumer;
        handle.promise().item.reset();
        return handle;
      }
      std::optional<internal::PackedResult> await_resume() {
        auto& promise = handle.promise();
        if (promise.error) std::rethrow_exception(std::exchange(promise.error, nullptr));
        if (handle.done()) return std::nullopt;
        return std::move(promise.item);
      }
    };
    return Awaiter{handle_};
  }

 private:
  std::coroutine_handle<promise_type> handle_;
};

namespace internal {

template <class T>
struct IsGenerator : std::false_type {};
template <class T>
struct IsGenerator<Generator<T>> : std::true_type {};

// The worker's side of a streaming call (client/src/call_token.cc): where its items go.
class ItemSink;
// The sink of the streaming call the calling thread runs; throws weft::Error
// FAILED_PRECONDITION when it runs none.
std::shared_ptr<ItemSink> CurrentItemSink();
// Sends the next item to the caller.
void SendStreamItem(ItemSink& sink, PackedResult item);
// `co_await StreamRoom{sink}`: waits while the caller has a window's worth of items not taken.
struct StreamRoom {
  ItemSink* sink;
  bool await_ready() const;
  bool await_suspend(std::coroutine_handle<> handle) const;
  void await_resume() const { DeliverCancellation(); }
};

// Runs a generator for the streaming call the thread runs: sends each item as it is yielded,
// within the caller's window; the call's own result is the number of items.
template <class T>
Async<PackedResult> DriveStream(Generator<T> generator) {
  const std::shared_ptr<ItemSink> sink = CurrentItemSink();  // before anything can suspend
  int64_t count = 0;
  while (true) {
    co_await StreamRoom{sink.get()};
    std::optional<PackedResult> item = co_await generator.Next();
    if (!item) break;
    SendStreamItem(*sink, std::move(*item));
    ++count;
  }
  co_return PackResult(count);
}

// The caller's side (client/src/stream_table.cc): the items of streaming call `result_id`, in
// order. Next gives the id of the next one (whose hold the ObjectRef adopts), or nullopt after
// the last, waiting at most `timeout` (null: no limit; DEADLINE_EXCEEDED when it runs out).
// Closing drops the items not taken.
class StreamReader {
 public:
  explicit StreamReader(std::string result_id);
  ~StreamReader();
  StreamReader(const StreamReader&) = delete;
  StreamReader& operator=(const StreamReader&) = delete;
  std::optional<std::string> Next(const std::chrono::milliseconds* timeout);

 private:
  std::string result_id_;
};

}  // namespace internal

// What a call of a Generator<T> method returns: the stream of its items, each an
// ObjectRef<T>, in the order they were yielded. An input range: iterate it once
// (`for (auto item : stream)`; begin() takes the first item), or call Next. Iterating blocks
// (on an async actor's loop it throws, as Get does). Move-only (not while iterating: the
// iterator points to it). Dropping it before its end drops the items not taken and cancels
// the call.
template <class T>
class ObjectRefGenerator {
 public:
  ObjectRefGenerator(std::string result_id, internal::Adopt)
      : result_(result_id, internal::Adopt{}),
        reader_(std::make_unique<internal::StreamReader>(std::move(result_id))) {}

  // The next item, waiting for it as long as it takes (or at most `timeout`); nullopt after
  // the last one. Throws weft::Error DEADLINE_EXCEEDED on timeout.
  std::optional<ObjectRef<T>> Next(std::optional<std::chrono::milliseconds> timeout = {}) {
    if (!reader_) throw Error(9, "weft::ObjectRefGenerator: this stream was moved from");
    auto id = reader_->Next(timeout ? &*timeout : nullptr);
    if (!id) return std::nullopt;
    return ObjectRef<T>(std::move(*id), internal::Adopt{});
  }

  // The call itself: its value is the number of items once the stream has ended; it holds
  // the stream's error if it failed. weft::Cancel(stream.call()) cancels the producer.
  const ObjectRef<int64_t>& call() const { return result_; }

  class iterator {
   public:
    using iterator_category = std::input_iterator_tag;
    using value_type = ObjectRef<T>;
    using difference_type = std::ptrdiff_t;
    iterator() = default;
    explicit iterator(ObjectRefGenerator* stream) : stream_(stream) { ++*this; }
    const ObjectRef<T>& operator*() const { return *current_; }
    const ObjectRef<T>* operator->() const { return &*current_; }
    iterator& operator++() {
      current_ = stream_->Next();
      if (!current_) stream_ = nullptr;
      return *this;
    }
    void operator++(int) { ++*this; }
    friend bool operator==(const iterator& a, const iterator& b) { return a.stream_ == b.stream_; }

   private:
    ObjectRefGenerator* stream_ = nullptr;
    std::optional<ObjectRef<T>> current_;
  };
  iterator begin() { return iterator(this); }
  iterator end() { return iterator(); }

 private:
  ObjectRef<int64_t> result_;
  std::unique_ptr<internal::StreamReader> reader_;
};

}  // namespace weft
