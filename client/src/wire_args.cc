#include "client/src/wire_args.h"

#include <msgpack.hpp>

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "client/src/remote_failure.h"
#include "common/rpc.h"
#include "weft/object_ref.h"

namespace weft::internal {

namespace {

// A reference the callee gets as a value, so the call waits for it. One handed over as an
// ObjectRef parameter goes at once: the callee borrows it and asks its owner when it needs it.
bool AwaitsValue(const CallArg& arg) { return arg.ref && !arg.pass_ref; }

}  // namespace

bool ArgsResolved(ObjectTable& objects, const std::vector<CallArg>& args) {
  return UnresolvedArg(objects, args) == nullptr;
}

const std::string* UnresolvedArg(ObjectTable& objects, const std::vector<CallArg>& args) {
  for (const auto& arg : args) {
    if (AwaitsValue(arg) && !objects.ReadyToSend(*arg.ref)) return arg.ref.get();
  }
  return nullptr;
}

void OnArgResolved(ObjectTable& objects, const std::vector<CallArg>& args,
                   const std::function<void()>& callback) {
  for (const auto& arg : args) {
    if (!AwaitsValue(arg) || objects.ReadyToSend(*arg.ref)) continue;
    // Resolved, a value that holds references is fetched here first (BuildArgs lends them).
    objects.WhenResolved(*arg.ref, [&objects, id = *arg.ref, callback] {
      if (objects.ReadyToSend(id)) return callback();
      objects.WhenReady(id, callback);
    });
  }
}

proto::RemoteError ArgumentsTooLarge(const std::string& callee, size_t bytes) {
  auto error = MessageTooLarge(absl::StrCat("the arguments of ", callee, " weigh"), bytes,
                               "; hand a large value over by reference (weft::Put, to a "
                               "parameter of type weft::ObjectRef<T>), or raise the limit");
  error.set_method(callee);
  return error;
}

bool BuildArgs(ObjectTable& objects, const std::vector<CallArg>& args, proto::Call* call,
               proto::RemoteError* failed, std::vector<std::shared_ptr<const std::string>>* held) {
  call->clear_lent_ids();
  msgpack::sbuffer buffer;
  msgpack::packer<msgpack::sbuffer> packer(buffer);
  packer.pack_array(static_cast<uint32_t>(args.size()));
  for (const auto& arg : args) {
    for (const auto& lent : arg.lent) call->add_lent_ids(*lent);
    if (!arg.ref) {
      buffer.write(arg.value.data(), arg.value.size());
      continue;
    }
    if (arg.pass_ref) {
      PackedRefs lent(PackedRefs::kLentToCall);  // the argument holds the reference already
      const std::string encoded = EncodeRef(*arg.ref);
      if (!lent.Take().empty()) call->add_lent_ids(*arg.ref);
      packer.pack_ext(encoded.size(), kObjectRefExt);
      packer.pack_ext_body(encoded.data(), encoded.size());
      continue;
    }
    auto snapshot = objects.Take(*arg.ref);
    if (snapshot.error) {
      *failed = *snapshot.error;
      return false;
    }
    if (snapshot.value) {
      buffer.write(snapshot.value->data(), snapshot.value->size());
      if (!snapshot.nested) continue;
      // The value is copied into the call: the references inside it are lent with it.
      std::vector<std::shared_ptr<const std::string>> inside;
      try {
        inside = LendRefsInside(*arg.ref, snapshot.value->view());
      } catch (const std::exception& e) {  // a value nested deeper than Unpack allows
        failed->set_code(static_cast<int>(absl::StatusCode::kInvalidArgument));
        failed->set_type("weft::Error");
        failed->set_method(call->method());
        failed->set_message(
            absl::StrCat("an argument of ", call->method(),
                         " cannot be read for the references inside it: ", e.what()));
        return false;
      }
      for (auto& hold : inside) {
        call->add_lent_ids(*hold);
        held->push_back(std::move(hold));
      }
    } else {
      const std::string& id = *arg.ref;
      packer.pack_ext(id.size(), kRefArgExt);
      packer.pack_ext_body(id.data(), id.size());
    }
  }
  call->set_args(buffer.data(), buffer.size());
  if (call->lent_ids_size() > 1) {  // the same reference given twice is lent once
    auto& ids = *call->mutable_lent_ids();
    std::sort(ids.begin(), ids.end());
    ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
  }
  // Sent, a message over the limit would be refused by the worker and end the stream with every
  // call queued on it: this call fails alone, before it is sent.
  if (call->ByteSizeLong() + 16 > static_cast<size_t>(MaxMessageBytes())) {  // with its framing
    *failed = ArgumentsTooLarge(call->method(), call->args().size());
    return false;
  }
  return true;
}

}  // namespace weft::internal
