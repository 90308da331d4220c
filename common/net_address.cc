#include "common/net_address.h"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <variant>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"

namespace weft {

bool IsWildcard(const std::string& host) {
  std::string bare = host;
  if (bare.size() > 2 && bare.front() == '[' && bare.back() == ']') {
    bare = bare.substr(1, bare.size() - 2);
  }
  in_addr v4{};
  in6_addr v6{};
  if (inet_pton(AF_INET, bare.c_str(), &v4) == 1) return v4.s_addr == htonl(INADDR_ANY);
  return inet_pton(AF_INET6, bare.c_str(), &v6) == 1 && IN6_IS_ADDR_UNSPECIFIED(&v6);
}

absl::Status CheckAdvertisableHost(const std::string& host) {
  const auto refuse = [&host](const std::string& why) {
    return absl::InvalidArgumentError(
        absl::StrCat("--advertise-address '", host, "' ", why,
                     ": give the host others reach this machine at, a DNS name or an IP "
                     "address (IPv6 without brackets), e.g. weft-head, 10.0.0.5 or fd00::5"));
  };
  if (host.empty()) return refuse("is empty");
  if (absl::StrContains(host, "[") || absl::StrContains(host, "]")) {
    return refuse("has brackets");
  }
  if (IsWildcard(host)) return refuse("is a wildcard, where a server listens (--host)");
  const auto colons = std::count(host.begin(), host.end(), ':');
  if (colons == 1) return refuse("has a port (the port is --port's)");
  in6_addr v6{};
  if (colons > 1) {
    if (inet_pton(AF_INET6, host.c_str(), &v6) != 1) return refuse("is no IPv6 address");
    return absl::OkStatus();
  }
  // A DNS name (an IPv4 address is one by its characters): labels of letters, digits, '-' and
  // '_', a final dot allowed.
  const std::string name = absl::EndsWith(host, ".") ? host.substr(0, host.size() - 1) : host;
  const bool labels_whole =
      !name.empty() && name.size() <= 253 && name.front() != '.' && !absl::StrContains(name, "..");
  const bool characters_fit = std::all_of(name.begin(), name.end(), [](char c) {
    return absl::ascii_isalnum(c) || c == '-' || c == '_' || c == '.';
  });
  if (!labels_whole || !characters_fit) return refuse("is no DNS name or IP address");
  return absl::OkStatus();
}

std::string AdvertisedHost(const std::string& bind_host) {
  if (!IsWildcard(bind_host) && !bind_host.empty()) return bind_host;
  std::string found = "127.0.0.1";
  ifaddrs* addrs = nullptr;
  if (getifaddrs(&addrs) != 0) return found;
  for (ifaddrs* a = addrs; a; a = a->ifa_next) {
    if (!a->ifa_addr || a->ifa_addr->sa_family != AF_INET || (a->ifa_flags & IFF_LOOPBACK)) {
      continue;
    }
    char text[INET_ADDRSTRLEN] = {};
    inet_ntop(AF_INET, &reinterpret_cast<sockaddr_in*>(a->ifa_addr)->sin_addr, text, sizeof(text));
    found = text;
    break;
  }
  freeifaddrs(addrs);
  return found;
}

std::string LocalDialHost(const std::string& bind_host) {
  if (bind_host.empty()) return "127.0.0.1";
  if (!IsWildcard(bind_host)) return bind_host;
  return absl::StrContains(bind_host, ':') ? "::1" : "127.0.0.1";
}

bool IsLoopback(const std::string& host_or_address) {
  std::string host = host_or_address;
  if (absl::StartsWith(host, "[")) {
    host = host.substr(1, host.find(']') - 1);
  } else if (std::count(host.begin(), host.end(), ':') == 1) {
    host = host.substr(0, host.find(':'));  // host:port
  }
  return host == "localhost" || absl::StartsWith(host, "127.") || host == "::1";
}

bool BeyondLoopback(const std::string& bind_host, const std::string& advertised) {
  return !IsLoopback(bind_host) || !IsLoopback(advertised);
}

bool PeerIsLoopback(const std::string& peer) {
  if (absl::StartsWith(peer, "unix:")) return true;
  std::string address = peer.substr(peer.find(':') + 1);  // past "ipv4:" / "ipv6:"
  address = absl::StrReplaceAll(address, {{"%5B", "["}, {"%5D", "]"}});
  std::string host = address;
  if (absl::StartsWith(address, "[")) {
    host = address.substr(1, address.find(']') - 1);
    if (absl::StartsWith(host, "::ffff:")) host = host.substr(7);  // IPv4 on a dual-stack socket
  } else if (const size_t colon = address.rfind(':'); colon != std::string::npos) {
    host = address.substr(0, colon);
  }
  return IsLoopback(host);
}

namespace {

// `address` as host and port: "host:port" or "[v6]:port", neither part empty.
bool SplitHostPort(const std::string& address, std::string& host, std::string& port) {
  size_t colon;
  if (absl::StartsWith(address, "[")) {
    const size_t close = address.find(']');
    if (close == std::string::npos || address.size() <= close + 1 || address[close + 1] != ':') {
      return false;
    }
    host = address.substr(1, close - 1);
    colon = close + 1;
  } else {
    colon = address.find(':');
    if (colon == std::string::npos || address.find(':', colon + 1) != std::string::npos) {
      return false;  // no port, or an IPv6 literal without brackets
    }
    host = address.substr(0, colon);
  }
  port = address.substr(colon + 1);
  return !host.empty() && !port.empty();
}

// The local address of a datagram socket connected to `to` (no packet is sent), or an errno.
std::variant<std::string, int> SourceAddressToward(const addrinfo& to) {
  const int fd = socket(to.ai_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return errno;
  sockaddr_storage mine{};
  socklen_t length = sizeof(mine);
  char text[NI_MAXHOST] = {};
  int error = 0;
  if (connect(fd, to.ai_addr, to.ai_addrlen) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&mine), &length) != 0) {
    error = errno;
  } else if (getnameinfo(reinterpret_cast<sockaddr*>(&mine), length, text, sizeof(text), nullptr, 0,
                         NI_NUMERICHOST) != 0) {
    error = EAFNOSUPPORT;
  }
  close(fd);
  if (error != 0) return error;
  return std::string(text);
}

}  // namespace

absl::StatusOr<std::string> LocalHostToward(const std::string& address) {
  std::string host, port;
  if (!SplitHostPort(address, host, port)) {
    return absl::InvalidArgumentError(
        absl::StrCat("'", address, "' is no host:port (an IPv6 address goes in brackets)"));
  }
  if (host == "::1") return host;
  if (IsLoopback(host)) return std::string("127.0.0.1");
  addrinfo hints{}, *found = nullptr;
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_DGRAM;
  if (const int failed = getaddrinfo(host.c_str(), port.c_str(), &hints, &found); failed != 0) {
    return absl::UnavailableError(
        absl::StrCat("cannot resolve ", host, " (of ", address, "): ", gai_strerror(failed)));
  }
  std::string why = "it resolves to no address";
  for (const addrinfo* candidate = found; candidate; candidate = candidate->ai_next) {
    const auto source = SourceAddressToward(*candidate);
    if (const auto* local = std::get_if<std::string>(&source)) {
      freeaddrinfo(found);
      return *local;
    }
    why = std::strerror(std::get<int>(source));
  }
  freeaddrinfo(found);
  return absl::UnavailableError(absl::StrCat("no route from this machine to ", address, ": ", why));
}

std::string JoinHostPort(const std::string& host, int port) {
  if (absl::StrContains(host, ':') && !absl::StartsWith(host, "[")) {
    return absl::StrCat("[", host, "]:", port);
  }
  return absl::StrCat(host, ":", port);
}

}  // namespace weft
