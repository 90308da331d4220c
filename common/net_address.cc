#include "common/net_address.h"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netdb.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"

namespace weft {

std::string AdvertisedHost(const std::string& bind_host) {
  if (bind_host != "0.0.0.0" && bind_host != "::" && bind_host != "[::]" && !bind_host.empty()) {
    return bind_host;
  }
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

bool IsLoopback(const std::string& host_or_address) {
  std::string host = host_or_address;
  if (absl::StartsWith(host, "[")) {
    host = host.substr(1, host.find(']') - 1);
  } else if (std::count(host.begin(), host.end(), ':') == 1) {
    host = host.substr(0, host.find(':'));  // host:port
  }
  return host == "localhost" || absl::StartsWith(host, "127.") || host == "::1";
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

std::string LocalHostToward(const std::string& address) {
  const std::string loopback = "127.0.0.1";
  const size_t colon = address.rfind(':');
  std::string host = address.substr(0, colon);
  if (absl::StartsWith(host, "[")) host = host.substr(1, host.size() - 2);
  if (host == "localhost" || absl::StartsWith(host, "127.") || host == "::1") return loopback;
  addrinfo hints{}, *found = nullptr;
  hints.ai_family = AF_INET;
  hints.ai_socktype = SOCK_DGRAM;
  const std::string port = colon == std::string::npos ? "9" : address.substr(colon + 1);
  if (getaddrinfo(host.c_str(), port.c_str(), &hints, &found) != 0 || !found) return loopback;
  std::string local = loopback;
  const int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  sockaddr_in mine{};
  socklen_t length = sizeof(mine);
  if (fd >= 0 && connect(fd, found->ai_addr, found->ai_addrlen) == 0 &&
      getsockname(fd, reinterpret_cast<sockaddr*>(&mine), &length) == 0) {
    char text[INET_ADDRSTRLEN] = {};
    if (inet_ntop(AF_INET, &mine.sin_addr, text, sizeof(text))) local = text;
  }
  if (fd >= 0) close(fd);
  freeaddrinfo(found);
  return local;
}

std::string JoinHostPort(const std::string& host, int port) {
  if (absl::StrContains(host, ':') && !absl::StartsWith(host, "[")) {
    return absl::StrCat("[", host, "]:", port);
  }
  return absl::StrCat(host, ":", port);
}

}  // namespace weft
