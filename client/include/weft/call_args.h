#pragma once

// How typed call arguments become wire arguments (internal to the templates of actor.h and
// task.h). Each argument must convert to its parameter's type, or be an ObjectRef of a type
// that does: the call then runs with the referenced value, fetched first. A parameter that is
// itself an ObjectRef<T> receives the reference.

#include <memory>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include "weft/object_ref.h"

namespace weft::internal {

struct CallArg {
  std::string value;                       // packed value, when not a reference
  std::shared_ptr<const std::string> ref;  // a reference argument (the call's hold on it)
  bool pass_ref = false;  // hand the reference itself to the callee (parameter is ObjectRef)
  // References inside `value` that the call lends its callee (see PackedRefs): held with it.
  std::vector<std::shared_ptr<const std::string>> lent;
};

template <class T>
struct IsObjectRef : std::false_type {};
template <class T>
struct IsObjectRef<ObjectRef<T>> : std::true_type {};

template <class P, class A>
CallArg MakeArg(A&& arg) {
  using Param = std::decay_t<P>;
  using Arg = std::decay_t<A>;
  if constexpr (IsObjectRef<Arg>::value) {
    if constexpr (IsObjectRef<Param>::value) {
      static_assert(std::is_convertible_v<typename Arg::value_type, typename Param::value_type>,
                    "weft: this ObjectRef's type does not match the parameter's ObjectRef type");
      return CallArg{{}, arg.valid() ? HoldForCall(arg.id()) : nullptr, true};
    } else {
      static_assert(std::is_convertible_v<typename Arg::value_type, Param>,
                    "weft: the value of this ObjectRef does not convert to the parameter type");
      return CallArg{{}, arg.valid() ? HoldForCall(arg.id()) : nullptr, false};
    }
  } else {
    static_assert(std::is_convertible_v<A&&, Param>,
                  "weft: argument does not convert to the parameter type of the method");
    PackedRefs lent(PackedRefs::kLentToCall);  // the references packed inside the value
    std::string value = Pack(static_cast<Param>(std::forward<A>(arg)));
    return CallArg{std::move(value), {}, false, lent.Take()};
  }
}

template <class Params, class... A, size_t... I>
std::vector<CallArg> MakeArgsImpl(std::index_sequence<I...>, A&&... args) {
  std::vector<CallArg> out;
  out.reserve(sizeof...(A));
  (out.push_back(MakeArg<std::tuple_element_t<I, Params>>(std::forward<A>(args))), ...);
  return out;
}

// Wire arguments for a callee with parameter tuple `Params`.
template <class Params, class... A>
std::vector<CallArg> MakeArgs(A&&... args) {
  static_assert(std::tuple_size_v<Params> == sizeof...(A),
                "weft: wrong number of arguments for this method or function");
  return MakeArgsImpl<Params>(std::index_sequence_for<A...>(), std::forward<A>(args)...);
}

}  // namespace weft::internal
