#pragma once

#include <grpcpp/channel.h>
#include <grpcpp/client_context.h>
#include <grpcpp/support/server_callback.h>

#include <chrono>
#include <memory>
#include <string>

#include "absl/status/status.h"

namespace weft {

// Default deadline of control-plane calls (registration, directory look-ups, CLI queries).
inline constexpr std::chrono::milliseconds kControlRpcTimeout{5000};

// A channel to `address` (host:port) whose every call carries the cluster token.
std::shared_ptr<grpc::Channel> MakeChannel(const std::string& address, const std::string& token);

// Sets the call's deadline `timeout` from now.
void SetTimeout(grpc::ClientContext& context, std::chrono::milliseconds timeout);

// For callback handlers: a reactor finished with `status`.
grpc::ServerUnaryReactor* FinishWith(grpc::CallbackServerContext* context,
                                     const absl::Status& status);

// The host others should use to reach a server bound to `bind_host`: `bind_host` itself,
// unless it is a wildcard (0.0.0.0, ::), then this machine's first non-loopback IPv4 address.
std::string AdvertisedHost(const std::string& bind_host);

// Formats host:port, bracketing IPv6 literals.
std::string JoinHostPort(const std::string& host, int port);

}  // namespace weft
