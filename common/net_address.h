#pragma once

// Hosts and addresses: which host a server is reached at, whether an address or a peer is this
// machine's loopback, and host:port formatting.

#include <string>

namespace weft {

// The host others should use to reach a server bound to `bind_host`: `bind_host` itself,
// unless it is a wildcard (0.0.0.0, ::), then this machine's first non-loopback IPv4 address.
std::string AdvertisedHost(const std::string& bind_host);

// True for a host (or host:port) of loopback: localhost, 127.x.y.z, ::1.
bool IsLoopback(const std::string& host_or_address);

// True when a gRPC peer (ServerContext::peer(): "ipv4:10.0.0.2:5000", "ipv6:[::1]:5000",
// "unix:...") is this machine's loopback or a local socket.
bool PeerIsLoopback(const std::string& peer);

// The address of this machine that reaches `address` (host:port): 127.0.0.1 for a loopback
// peer, else the local address the kernel routes toward it (no packet is sent).
std::string LocalHostToward(const std::string& address);

// Formats host:port, bracketing IPv6 literals.
std::string JoinHostPort(const std::string& host, int port);

}  // namespace weft
