#include "common/connection_gate.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/logging.h"

namespace weft {
namespace {

// How often the gate looks again at which connections are still open, at most, while a limit
// holds (a look reads /proc/self/fd).
constexpr absl::Duration kPruneEvery = absl::Milliseconds(100);
// How long an accept that failed for want of files waits before it tries again.
constexpr int kRetryAcceptMs = 100;
constexpr absl::Duration kWarnEvery = absl::Seconds(10);

int DefaultMaxConnections() {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0 || limit.rlim_cur == RLIM_INFINITY) {
    return ConnectionGate::kDefaultMaxConnections;
  }
  // Half the files for connections in: the other half for what the process opens itself.
  return static_cast<int>(
      std::clamp<rlim_t>(limit.rlim_cur / 2, 16, ConnectionGate::kDefaultMaxConnections));
}

std::string PeerOf(const sockaddr_storage& address) {
  char text[INET6_ADDRSTRLEN] = {};
  if (address.ss_family == AF_INET) {
    inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in&>(address).sin_addr, text, sizeof(text));
  } else if (address.ss_family == AF_INET6) {
    inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6&>(address).sin6_addr, text,
              sizeof(text));
  }
  return text;
}

// Who a connection counts against: its address (an IPv4-mapped IPv6 address as IPv4).
std::string PeerKey(const sockaddr_storage& address) {
  if (address.ss_family == AF_INET6) {
    const in6_addr& ip = reinterpret_cast<const sockaddr_in6&>(address).sin6_addr;
    if (IN6_IS_ADDR_V4MAPPED(&ip)) {
      char text[INET_ADDRSTRLEN] = {};
      inet_ntop(AF_INET, &ip.s6_addr[12], text, sizeof(text));
      return text;
    }
  }
  return PeerOf(address);
}

// A socket for `address` bound and listening, or -1 with `error` set.
int BindAndListen(const sockaddr* address, socklen_t length, int& error) {
  const int fd = socket(address->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    error = errno;
    return -1;
  }
  const int one = 1;
  const int zero = 0;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  // "::" takes IPv4 connections too, as gRPC's own listener does.
  if (address->sa_family == AF_INET6) {
    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
  }
  // The kernel takes at most net.core.somaxconn.
  if (bind(fd, address, length) == 0 && listen(fd, 65535) == 0) return fd;
  error = errno;
  close(fd);
  return -1;
}

void SetPort(sockaddr_storage& address, int port) {
  if (address.ss_family == AF_INET) {
    reinterpret_cast<sockaddr_in&>(address).sin_port = htons(static_cast<uint16_t>(port));
  } else {
    reinterpret_cast<sockaddr_in6&>(address).sin6_port = htons(static_cast<uint16_t>(port));
  }
}

int BoundPort(int fd);

// Listening sockets for every address `host` names (a wildcard: "::" for IPv6 and IPv4, else
// "0.0.0.0"), all on one port: `port`, or a free one.
absl::StatusOr<std::vector<int>> ListenOn(const std::string& host, int port) {
  std::string bare = host;
  if (bare.size() > 2 && bare.front() == '[' && bare.back() == ']') {
    bare = bare.substr(1, bare.size() - 2);
  }
  std::vector<sockaddr_storage> addresses;
  const bool wildcard = bare.empty() || bare == "0.0.0.0" || bare == "::";
  if (wildcard) {
    sockaddr_storage any6{};
    any6.ss_family = AF_INET6;
    reinterpret_cast<sockaddr_in6&>(any6).sin6_addr = in6addr_any;
    sockaddr_storage any4{};
    any4.ss_family = AF_INET;
    reinterpret_cast<sockaddr_in&>(any4).sin_addr.s_addr = htonl(INADDR_ANY);
    addresses = {any6, any4};  // the second only where there is no IPv6
  } else {
    addrinfo hints{};
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* found = nullptr;
    if (const int error = getaddrinfo(bare.c_str(), nullptr, &hints, &found); error != 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("cannot listen on ", host, ": ", gai_strerror(error)));
    }
    for (const addrinfo* a = found; a; a = a->ai_next) {
      if (a->ai_family != AF_INET && a->ai_family != AF_INET6) continue;
      sockaddr_storage address{};
      std::memcpy(&address, a->ai_addr, a->ai_addrlen);
      addresses.push_back(address);
    }
    freeaddrinfo(found);
    std::stable_sort(addresses.begin(), addresses.end(),
                     [](const sockaddr_storage& a, const sockaddr_storage& b) {
                       return a.ss_family == AF_INET && b.ss_family != AF_INET;
                     });
  }
  int last_error = EADDRNOTAVAIL;
  // A free port picked for the first address may be taken on another: a few tries.
  for (int attempt = 0; attempt < (port == 0 ? 5 : 1); ++attempt) {
    std::vector<int> fds;
    int chosen = port;
    bool in_use = false;
    for (auto address : addresses) {
      SetPort(address, chosen);
      const socklen_t length =
          address.ss_family == AF_INET ? sizeof(sockaddr_in) : sizeof(sockaddr_in6);
      int error = 0;
      const int fd = BindAndListen(reinterpret_cast<const sockaddr*>(&address), length, error);
      if (fd < 0) {
        last_error = error;
        if (error == EADDRINUSE) {
          in_use = true;
          break;
        }
        continue;  // an address family this host does not have
      }
      fds.push_back(fd);
      if (chosen == 0) chosen = BoundPort(fd);
      if (wildcard) break;  // "::" took IPv4 too
    }
    if (!in_use && !fds.empty() && chosen != 0) return fds;
    for (int fd : fds) close(fd);
    if (!in_use) break;
  }
  return absl::UnavailableError(
      absl::StrCat("cannot listen on ", host, ":", port, ": ", std::strerror(last_error)));
}

int BoundPort(int fd) {
  sockaddr_storage address{};
  socklen_t length = sizeof(address);
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) return 0;
  if (address.ss_family == AF_INET) {
    return ntohs(reinterpret_cast<const sockaddr_in&>(address).sin_port);
  }
  return ntohs(reinterpret_cast<const sockaddr_in6&>(address).sin6_port);
}

}  // namespace

absl::StatusOr<std::unique_ptr<ConnectionGate>> ConnectionGate::Listen(
    const std::string& host, int port, grpc::ServerBuilder& builder,
    std::shared_ptr<grpc::ServerCredentials> credentials, Limits limits) {
  int stop_pipe[2];
  if (pipe2(stop_pipe, O_CLOEXEC) != 0) {
    return absl::ResourceExhaustedError(
        absl::StrCat("cannot listen on ", host, ": pipe: ", std::strerror(errno)));
  }
  auto fds = ListenOn(host, port);
  if (!fds.ok()) {
    close(stop_pipe[0]);
    close(stop_pipe[1]);
    return fds.status();
  }
  if (limits.max_connections <= 0) limits.max_connections = DefaultMaxConnections();
  if (limits.max_per_peer <= 0) limits.max_per_peer = kDefaultMaxPerPeer;
  limits.max_per_peer = std::min(limits.max_per_peer, limits.max_connections);
  auto acceptor = builder.experimental().AddExternalConnectionAcceptor(
      grpc::ServerBuilder::experimental_type::ExternalConnectionType::FROM_FD,
      std::move(credentials));
  const int bound = BoundPort(fds->front());
  return std::unique_ptr<ConnectionGate>(
      new ConnectionGate(*std::move(fds), bound, limits, stop_pipe, std::move(acceptor)));
}

ConnectionGate::ConnectionGate(
    std::vector<int> listen_fds, int port, Limits limits, int stop_pipe[2],
    std::unique_ptr<grpc::experimental::ExternalConnectionAcceptor> acceptor)
    : listen_fds_(std::move(listen_fds)),
      port_(port),
      limits_(limits),
      owner_pid_(getpid()),
      stop_pipe_{stop_pipe[0], stop_pipe[1]},
      acceptor_(std::move(acceptor)) {}

ConnectionGate::~ConnectionGate() {
  Close();
  close(stop_pipe_[0]);
  close(stop_pipe_[1]);
}

void ConnectionGate::Open() {
  if (!thread_.joinable() && !closed_) thread_ = std::thread([this] { AcceptLoop(); });
}

void ConnectionGate::Close() {
  if (thread_.joinable()) {
    if (getpid() != owner_pid_) {
      thread_.detach();  // a forked child: the thread is its parent's, and goes on there
    } else {
      const char stop = 1;
      while (write(stop_pipe_[1], &stop, 1) < 0 && errno == EINTR) {
      }
      thread_.join();
    }
  }
  if (!closed_) {
    for (int fd : listen_fds_) close(fd);
    closed_ = true;
  }
}

void ConnectionGate::AcceptLoop() {
  std::vector<pollfd> watched;
  for (int fd : listen_fds_) watched.push_back({fd, POLLIN, 0});
  watched.push_back({stop_pipe_[0], POLLIN, 0});
  const auto pause = [this] {  // true when asked to stop meanwhile
    pollfd stop{stop_pipe_[0], POLLIN, 0};
    return poll(&stop, 1, kRetryAcceptMs) > 0;
  };
  while (true) {
    if (poll(watched.data(), watched.size(), -1) < 0) {
      if (errno == EINTR) continue;
      {
        absl::MutexLock lock(&mu_);
        Warn(absl::StrCat("poll: ", std::strerror(errno)));
      }
      if (pause()) return;
      continue;
    }
    if (watched.back().revents != 0) return;
    bool wait = false;
    for (size_t i = 0; i + 1 < watched.size(); ++i) {
      if (watched[i].revents != 0 && !AcceptOne(watched[i].fd)) wait = true;
    }
    // Out of files (or memory): the connection waits in the backlog; so does the gate, a
    // little, instead of spinning on it, or giving up as gRPC's own listener would.
    if (wait && pause()) return;
  }
}

bool ConnectionGate::AcceptOne(int listen_fd) {
  sockaddr_storage address{};
  socklen_t length = sizeof(address);
  const int fd = accept4(listen_fd, reinterpret_cast<sockaddr*>(&address), &length,
                         SOCK_NONBLOCK | SOCK_CLOEXEC);
  if (fd < 0) {
    const int error = errno;
    switch (error) {
      case EMFILE:
      case ENFILE:
      case ENOBUFS:
      case ENOMEM: {
        absl::MutexLock lock(&mu_);
        Warn(absl::StrCat("cannot accept a connection: ", std::strerror(error), "; trying again"));
        return false;
      }
      default:  // gone already (ECONNABORTED), a network error: accept(2) says try again
        return true;
    }
  }
  const std::string peer = PeerKey(address);
  struct stat st {};
  fstat(fd, &st);
  bool admitted = false;
  {
    absl::MutexLock lock(&mu_);
    admitted = Admit(peer);
    if (admitted) {
      peers_[peer].held.push_back({fd, st.st_ino});
      ++total_;
    } else {
      const auto from = peers_.find(peer);
      Warn(absl::StrCat("connections refused: ", total_, " open (",
                        from == peers_.end() ? 0 : from->second.held.size(), " from ", peer,
                        "), limits ", limits_.max_connections, " in all and ", limits_.max_per_peer,
                        " per address"));
    }
  }
  if (!admitted) {
    // A reset, not an orderly close: the peer learns at once, and no TIME_WAIT is left here.
    const linger reset{1, 0};
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &reset, sizeof(reset));
    close(fd);
    return true;
  }
  const int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  const unsigned int user_timeout = static_cast<unsigned int>(limits_.tcp_user_timeout_ms);
  setsockopt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &user_timeout, sizeof(user_timeout));
  grpc::experimental::ExternalConnectionAcceptor::NewConnectionParameters connection;
  connection.listener_fd = listen_fd;
  connection.fd = fd;  // gRPC's from here on
  acceptor_->HandleNewConnection(&connection);
  return true;
}

bool ConnectionGate::Admit(const std::string& peer) {
  const absl::Time now = absl::Now();
  auto from = peers_.find(peer);
  const auto fits = [&] {
    const size_t from_peer = from == peers_.end() ? 0 : from->second.held.size();
    return total_ < limits_.max_connections &&
           from_peer < static_cast<size_t>(limits_.max_per_peer);
  };
  if (fits()) return true;
  if (from != peers_.end() &&
      from->second.held.size() >= static_cast<size_t>(limits_.max_per_peer) &&
      now - from->second.last_look >= kPruneEvery) {
    Forget(from->second.held);             // this peer's only: at most max_per_peer descriptors
    from->second.last_look = absl::Now();  // after the look: a long one does not start another
  }
  if (total_ >= limits_.max_connections && now - last_full_look_ >= kPruneEvery) {
    ForgetAll();
    last_full_look_ = absl::Now();
    from = peers_.find(peer);  // ForgetAll drops peers that hold nothing
  }
  return fits();
}

void ConnectionGate::Forget(std::vector<Held>& held) {
  const size_t before = held.size();
  std::erase_if(held, [](const Held& h) {
    struct stat st {};
    // Closed by gRPC: the descriptor is gone, or was taken again by another file.
    return fstat(h.fd, &st) != 0 || !S_ISSOCK(st.st_mode) || st.st_ino != h.inode;
  });
  total_ -= static_cast<int>(before - held.size());
}

void ConnectionGate::ForgetAll() {
  for (auto it = peers_.begin(); it != peers_.end();) {
    Forget(it->second.held);
    it = it->second.held.empty() ? peers_.erase(it) : std::next(it);
  }
}

void ConnectionGate::Warn(const std::string& what) {
  if (absl::Now() - last_warning_ < kWarnEvery) return;
  last_warning_ = absl::Now();
  spdlog::warn("port {}: {}", port_, what);
}

}  // namespace weft
