#pragma once

// Registration of actor classes and remote functions. Put one registration per class in a
// .cc file of a shared library that both the driver and the workers load:
//
//   static const auto kCounter = weft::ActorClass<Counter>("Counter")
//                                    .Constructor<int>()
//                                    .Method("Add", &Counter::Add)
//                                    .Method("Total", &Counter::Total);
//
// A class with at least one method returning weft::Async<T> gets the async executor (one
// event loop); otherwise the thread-pool executor. Names are explicit; every method's
// argument and result types are checked by the compiler at each call site.

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <typeinfo>
#include <utility>
#include <vector>

#include "weft/async.h"
#include "weft/object_ref.h"
#include "weft/serialization.h"

namespace weft {

template <class T>
class Generator;  // weft/generator.h
template <class T>
class ObjectRefGenerator;

namespace internal {

template <class T>
struct IsAsync : std::false_type {};
template <class T>
struct IsAsync<Async<T>> : std::true_type {};
template <class T>
struct Unwrap {
  using type = T;
};
template <class T>
struct Unwrap<Async<T>> {
  using type = T;
};
template <class T>
struct IsStream : std::false_type {};
template <class T>
struct IsStream<Generator<T>> : std::true_type {};
// What a call of a method or task returning R gives its caller: a reference to its value, or
// the stream of a generator's items.
template <class R>
struct CallResult {
  using type = ObjectRef<typename Unwrap<R>::type>;
};
template <class T>
struct CallResult<Generator<T>> {
  using type = ObjectRefGenerator<T>;
};

// What a member function pointer takes and returns.
template <class M>
struct MethodTraits;
#define WEFT_METHOD_TRAITS(QUALIFIERS)                             \
  template <class R, class C, class... A>                          \
  struct MethodTraits<R (C::*)(A...) QUALIFIERS> {                 \
    using Class = C;                                               \
    using Result = R;                                              \
    using Params = std::tuple<A...>;                               \
    using DecayedParams = std::tuple<std::decay_t<A>...>;          \
    static constexpr bool kAsync = IsAsync<R>::value;              \
    static constexpr bool kStream = IsStream<R>::value;            \
    using Value = typename Unwrap<R>::type; /* what a ref holds */ \
  };
WEFT_METHOD_TRAITS()
WEFT_METHOD_TRAITS(const)
WEFT_METHOD_TRAITS(noexcept)
WEFT_METHOD_TRAITS(const noexcept)
#undef WEFT_METHOD_TRAITS

template <class F>
struct FunctionTraits;
template <class R, class... A>
struct FunctionTraits<R (*)(A...)> {
  using Result = R;
  using Params = std::tuple<A...>;
  using DecayedParams = std::tuple<std::decay_t<A>...>;
};
template <class R, class... A>
struct FunctionTraits<R (*)(A...) noexcept> : FunctionTraits<R (*)(A...)> {};

// A call's result, packed, with holds on the references packed inside it: the worker keeps
// them while the caller's result object lives (see object_table.h, Lifetime).
struct PackedResult {
  std::string bytes;
  std::vector<std::shared_ptr<const std::string>> refs;
  std::vector<std::string> owners;  // of each of `refs`
};
template <class V>
PackedResult PackResult(const V& value) {
  PackedRefs inside(PackedRefs::kInsideObject);
  std::string bytes = Pack(value);
  return {std::move(bytes), inside.Take(), inside.owners()};
}

using SyncInvoker = std::function<PackedResult(void* self, std::string_view args)>;
using AsyncInvoker = std::function<Async<PackedResult>(void* self, std::string args)>;

struct MethodInfo {
  std::string name;
  std::string group;    // its concurrency group; empty: the default group
  std::string pointer;  // the member pointer's bytes, to map it to `name`
  const std::type_info* pointer_type = nullptr;
  SyncInvoker call;         // set for plain methods (and generators: on a loop of its own)
  AsyncInvoker call_async;  // set for coroutine methods (and generators: on the actor's loop)
  bool stream = false;      // returns weft::Generator<T>: its calls stream their items
};

struct ClassInfo {
  std::string name;
  std::string type_name;  // typeid(C).name()
  std::function<void*(std::string_view args)> construct;
  std::function<void(void*)> destroy;
  std::vector<MethodInfo> methods;
  // Concurrency groups besides the default one, in declaration order: name, max concurrency.
  std::vector<std::pair<std::string, int>> groups;
  std::string library;     // the shared library that registered the class
  bool is_async() const {  // a generator alone does not make a class async
    for (const auto& m : methods)
      if (m.call_async && !m.stream) return true;
    return false;
  }
};

struct FunctionInfo {
  std::string name;
  const void* pointer = nullptr;
  SyncInvoker call;  // `self` is unused
  std::string library;
  bool stream = false;  // returns weft::Generator<T>
};

// The process-wide registry (client/src/registry.cc). Register* run from static
// initializers; `where` is any address inside the registering library.
ClassInfo* RegisterClass(std::string name, const std::type_info& type, const void* where);
void RegisterFunction(FunctionInfo info, const void* where);
const ClassInfo* FindClass(std::string_view name);
const ClassInfo* FindClassByType(const std::type_info& type);  // throws weft::Error NOT_FOUND
const FunctionInfo* FindFunction(std::string_view name);
const FunctionInfo* FindFunctionByPointer(const void* pointer);  // throws weft::Error NOT_FOUND
// The shared libraries (not the main executable) that registered classes or functions: what
// workers must load to run this process's actors and tasks.
std::vector<std::string> CodeLibraries();
// What is wrong with the concurrency groups `cls` declares (a name empty or given twice, a
// limit below 1, a method in an undeclared group); empty when nothing is.
std::string ConcurrencyGroupsError(const ClassInfo& cls);

// The name a class registered for `pointer`; throws weft::Error NOT_FOUND.
const std::string& MethodName(const ClassInfo& cls, const std::type_info& pointer_type,
                              const void* pointer, size_t size);

template <class Tuple>
Tuple UnpackArgs(std::string_view bytes) {
  return Unpack<Tuple>(bytes);
}

template <class M>
PackedResult InvokeSync(void* self, M method, std::string_view bytes) {
  using T = MethodTraits<M>;
  auto args = UnpackArgs<typename T::DecayedParams>(bytes);
  auto* object = static_cast<typename T::Class*>(self);
  auto call = [&](auto&... a) -> decltype(auto) { return (object->*method)(std::move(a)...); };
  if constexpr (std::is_void_v<typename T::Result>) {
    std::apply(call, args);
    return PackResult(msgpack::type::nil_t());
  } else {
    return PackResult(std::apply(call, args));
  }
}

template <class M>
Async<PackedResult> InvokeAsync(void* self, M method, std::string bytes) {
  using T = MethodTraits<M>;
  auto args = UnpackArgs<typename T::DecayedParams>(bytes);
  auto* object = static_cast<typename T::Class*>(self);
  auto task = std::apply([&](auto&... a) { return (object->*method)(std::move(a)...); }, args);
  if constexpr (std::is_void_v<typename T::Value>) {
    co_await std::move(task);
    co_return PackResult(msgpack::type::nil_t());
  } else {
    co_return PackResult(co_await std::move(task));
  }
}

// Runs a generator for the streaming call this thread runs (weft/generator.h).
template <class T>
Async<PackedResult> DriveStream(Generator<T> generator);

// A generator method's stream: the coroutine keeps the arguments alive while it runs.
template <class M>
Async<PackedResult> InvokeStream(void* self, M method, std::string bytes) {
  using T = MethodTraits<M>;
  auto args = UnpackArgs<typename T::DecayedParams>(bytes);
  auto* object = static_cast<typename T::Class*>(self);
  co_return co_await DriveStream(
      std::apply([&](auto&... a) { return (object->*method)(std::move(a)...); }, args));
}
template <class F>
Async<PackedResult> InvokeStreamFunction(F function, std::string bytes) {
  auto args = UnpackArgs<typename FunctionTraits<F>::DecayedParams>(bytes);
  co_return co_await DriveStream(
      std::apply([&](auto&... a) { return function(std::move(a)...); }, args));
}

template <class F>
PackedResult InvokeFunction(F function, std::string_view bytes) {
  using T = FunctionTraits<F>;
  auto args = UnpackArgs<typename T::DecayedParams>(bytes);
  auto call = [&](auto&... a) -> decltype(auto) { return function(std::move(a)...); };
  if constexpr (std::is_void_v<typename T::Result>) {
    std::apply(call, args);
    return PackResult(msgpack::type::nil_t());
  } else {
    return PackResult(std::apply(call, args));
  }
}

}  // namespace internal

// How a method is registered: `.Method("Fetch", &C::Fetch, {.concurrency_group = "io"})`.
struct MethodOptions {
  // The concurrency group its calls run in (declared with ConcurrencyGroup); empty: the
  // default group, whose limit is the actor's max_concurrency. A call may choose another.
  std::string concurrency_group;
};

// Registers actor class C under `name`. Keep the returned object in a static: the chain runs
// once, when the library is loaded.
template <class C>
class ActorClass {
 public:
  explicit ActorClass(std::string name)
      : info_(internal::RegisterClass(std::move(name), typeid(C),
                                      reinterpret_cast<const void*>(&Anchor))) {
    info_->destroy = [](void* self) { delete static_cast<C*>(self); };
    if constexpr (std::is_default_constructible_v<C>) Constructor<>();
  }

  // The constructor that `weft::Actor<C>().Remote(args...)` calls with Args.
  template <class... Args>
  ActorClass& Constructor() {
    static_assert(std::is_constructible_v<C, Args...>, "C has no constructor taking these Args");
    info_->construct = [](std::string_view bytes) -> void* {
      auto args = internal::UnpackArgs<std::tuple<std::decay_t<Args>...>>(bytes);
      return std::apply([](auto&... a) { return new C(std::move(a)...); }, args);
    };
    return *this;
  }

  // Declares a concurrency group, as Ray's concurrency_groups={"io": 2}: the calls of its
  // methods (and calls that choose it) run at most `max_concurrency` at a time, apart from
  // other groups' calls (a blocked group does not hold up another): on threads of its own for
  // a thread-pool actor, as a limit of its own on the event loop for an async actor. A group
  // of 1 runs its calls in submission order (on an actor that keeps no order, among those
  // whose arguments are ready). The limits are checked when an actor is created.
  ActorClass& ConcurrencyGroup(std::string name, int max_concurrency) {
    info_->groups.emplace_back(std::move(name), max_concurrency);
    return *this;
  }

  template <class M>
  ActorClass& Method(std::string name, M method, MethodOptions options = {}) {
    using T = internal::MethodTraits<M>;
    static_assert(std::is_base_of_v<typename T::Class, C>, "method of another class");
    internal::MethodInfo info;
    info.name = std::move(name);
    info.group = std::move(options.concurrency_group);
    info.pointer.assign(reinterpret_cast<const char*>(&method), sizeof(method));
    info.pointer_type = &typeid(M);
    if constexpr (T::kStream) {
      info.stream = true;
      info.call_async = [method](void* self, std::string args) {
        return internal::InvokeStream(self, method, std::move(args));
      };
      info.call = [method](void* self, std::string_view args) {
        return RunSync(internal::InvokeStream(self, method, std::string(args)));
      };
    } else if constexpr (T::kAsync) {
      info.call_async = [method](void* self, std::string args) {
        return internal::InvokeAsync(self, method, std::move(args));
      };
    } else {
      info.call = [method](void* self, std::string_view args) {
        return internal::InvokeSync(self, method, args);
      };
    }
    info_->methods.push_back(std::move(info));
    return *this;
  }

 private:
  static void Anchor() {}
  internal::ClassInfo* info_;
};

// Compile-time refusal of coroutine remote tasks, with the wrapper spelled out.
template <class F>
struct RejectAsyncTask {
  static_assert(!internal::IsAsync<typename internal::FunctionTraits<F>::Result>::value,
                "weft: a remote task cannot be a coroutine (it returns weft::Async<T>). Wrap "
                "it in a plain function that runs it to completion, and register that: "
                "`int wrapper() { return weft::RunSync(f()); }`");
  static constexpr bool value = true;
};

// Registers a plain function as a remote task under `name`:
//   static const bool kAdd = weft::RemoteFunction("Add", &Add);
template <class F>
bool RemoteFunction(std::string name, F function) {
  static_assert(RejectAsyncTask<F>::value);
  internal::FunctionInfo info;
  info.name = std::move(name);
  info.pointer = reinterpret_cast<const void*>(function);
  if constexpr (internal::IsStream<typename internal::FunctionTraits<F>::Result>::value) {
    info.stream = true;
    info.call = [function](void*, std::string_view args) {
      return RunSync(internal::InvokeStreamFunction(function, std::string(args)));
    };
  } else {
    info.call = [function](void*, std::string_view args) {
      return internal::InvokeFunction(function, args);
    };
  }
  internal::RegisterFunction(std::move(info), reinterpret_cast<const void*>(function));
  return true;
}

}  // namespace weft
