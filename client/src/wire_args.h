#pragma once

#include <functional>
#include <string>
#include <vector>

#include "client/src/object_table.h"
#include "common.pb.h"
#include "weft/call_args.h"
#include "worker.pb.h"

namespace weft::internal {

// True when every reference among `args` passed as a value is here or located (or failed; here
// if its value holds references); references passed as ObjectRef parameters need not be.
bool ArgsResolved(ObjectTable& objects, const std::vector<CallArg>& args);
// The id of the first reference among `args` that keeps them from being resolved; null when
// they are.
const std::string* UnresolvedArg(ObjectTable& objects, const std::vector<CallArg>& args);

// Runs `callback` once per unresolved reference among `args`, as each resolves.
void OnArgResolved(ObjectTable& objects, const std::vector<CallArg>& args,
                   const std::function<void()>& callback);

// The msgpack array of a call whose references are all resolved: values are spliced in,
// located objects become kRefArgExt (the callee fetches them through the object directory),
// references handed over become kObjectRefExt. Sets the call's args and lent_ids (references
// handed over and inside values that the callee may borrow); `held` gets the holds on those
// inside values of referenced objects, which must live as long as the call. False, with
// `failed` set, when a referenced call failed: the call fails with that error.
// The failure of a call (or an actor's construction) by `callee` whose arguments passed by
// value weigh `bytes`, over the cluster's largest message: weft::MessageTooLargeError.
proto::RemoteError ArgumentsTooLarge(const std::string& callee, size_t bytes);

bool BuildArgs(ObjectTable& objects, const std::vector<CallArg>& args, proto::Call* call,
               proto::RemoteError* failed, std::vector<std::shared_ptr<const std::string>>* held);

}  // namespace weft::internal
