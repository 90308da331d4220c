#pragma once

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

}  // namespace weft::internal
