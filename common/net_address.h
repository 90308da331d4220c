#pragma once

// Hosts and addresses: which host a server is reached at, whether an address or a peer is this
// machine's loopback, and host:port formatting.

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace weft {

// True for a wildcard host, where a server listens on every interface: 0.0.0.0, ::, [::] (and
// :: written out).
bool IsWildcard(const std::string& host);

// OK for a host others can be told to reach a server at (--advertise-address): a DNS name (a
// Kubernetes Service's, say) or an IPv4 or IPv6 literal, IPv6 without brackets.
// INVALID_ARGUMENT, saying what to give instead, for an empty host, brackets, a port
// (HOST:PORT), a wildcard (0.0.0.0, ::) or characters no host name has.
[[nodiscard]] absl::Status CheckAdvertisableHost(const std::string& host);

// The host others should use to reach a server bound to `bind_host`: `bind_host` itself,
// unless it is a wildcard (0.0.0.0, ::), then this machine's first non-loopback IPv4 address.
std::string AdvertisedHost(const std::string& bind_host);

// The host a process of this machine dials to reach a server bound to `bind_host`: `bind_host`
// itself, or loopback for a wildcard (::1 for ::, else 127.0.0.1). Unlike an advertised host,
// it never leaves the machine: behind NAT, or advertised under a load balancer's address, a
// machine may not reach itself at what it advertises.
std::string LocalDialHost(const std::string& bind_host);

// True for a host (or host:port) of loopback: localhost, 127.x.y.z, ::1.
bool IsLoopback(const std::string& host_or_address);

// True when a server bound to `bind_host` and reached at `advertised` (each a host or
// host:port) talks beyond this machine's loopback: either is beyond it (a wildcard, listening
// on every interface, is).
bool BeyondLoopback(const std::string& bind_host, const std::string& advertised);

// True when a gRPC peer (ServerContext::peer(): "ipv4:10.0.0.2:5000", "ipv6:[::1]:5000",
// "unix:...") is this machine's loopback or a local socket.
bool PeerIsLoopback(const std::string& peer);

// The address of this machine that reaches `address` ("host:port" or "[v6]:port", the host a
// name or an IPv4 or IPv6 literal): loopback for a loopback peer (::1 for ::1, else 127.0.0.1),
// else the local address, IPv4 or IPv6, the kernel routes toward it (no packet is sent).
// INVALID_ARGUMENT for an address without host or port; UNAVAILABLE, naming the address, when
// its name does not resolve or no route leads to any of its addresses: never loopback then.
[[nodiscard]] absl::StatusOr<std::string> LocalHostToward(const std::string& address);

// Formats host:port, bracketing IPv6 literals.
std::string JoinHostPort(const std::string& host, int port);

}  // namespace weft
