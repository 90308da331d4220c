#pragma once

#include <string>

#include "common.pb.h"
#include "weft/error.h"

namespace weft::internal {

// A remote failure crosses processes as a proto::RemoteError whose FailureKind names its
// exception class. These two are the only places that map one to the other.

// Throws `error` as the class of its kind (RemoteError for none), with type() naming that
// class unless it is a user exception's own type.
[[noreturn]] void ThrowRemote(const proto::RemoteError& error);

// A RemoteError as it travels on (a nested call's error let through a method): its fields,
// and its class as its kind.
proto::RemoteError ToProto(const RemoteError& error);

// weft::MessageTooLargeError: `what` ("the arguments of Counter.add weigh") `bytes`, over the
// cluster's message limit; `advice` ends the message.
proto::RemoteError MessageTooLarge(const std::string& what, size_t bytes,
                                   const std::string& advice = "");

}  // namespace weft::internal
