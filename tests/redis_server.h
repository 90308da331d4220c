#pragma once

// A redis-server of a test's own, on a free port of 127.0.0.1, keeping every acknowledged write
// (appendfsync always), its files in `dir`; killed at the end. For the tests of the head's
// Redis store (unit and whole-cluster alike).

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <string>
#include <thread>

#include "common/process.h"
#include "common/rpc.h"

namespace weft::testing {

class RedisServer {
 public:
  static constexpr char kBinary[] = "/usr/bin/redis-server";
  static bool Installed() { return access(kBinary, X_OK) == 0; }

  explicit RedisServer(const std::string& dir) {
    // A free port: bound, read and released (another process could take it meanwhile; then
    // the server does not start and the test fails saying so).
    const int probe = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof(address);
    if (bind(probe, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0 &&
        getsockname(probe, reinterpret_cast<sockaddr*>(&address), &length) == 0) {
      port_ = ntohs(address.sin_port);
    }
    close(probe);
    auto pid = SpawnProcess({.argv = {kBinary, "--port", std::to_string(port_), "--bind",
                                      "127.0.0.1", "--dir", dir, "--save", "", "--appendonly",
                                      "yes", "--appendfsync", "always", "--daemonize", "no"},
                             .stdout_path = dir + "/redis.log",
                             .stderr_path = dir + "/redis.log"});
    if (!pid.ok()) return;
    pid_ = *pid;
    // Ready once it accepts connections: bounded to 10 s.
    const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (std::chrono::steady_clock::now() < until && ProcessAlive(pid_)) {
      if (!ConnectionRefused(address_(), std::chrono::seconds(1))) {
        ready_ = true;
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }
  ~RedisServer() {
    if (pid_ <= 0) return;
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
  }
  RedisServer(const RedisServer&) = delete;
  RedisServer& operator=(const RedisServer&) = delete;

  bool ready() const { return ready_ && ProcessAlive(pid_); }
  int port() const { return port_; }
  std::string url() const { return "redis://" + address_(); }

 private:
  std::string address_() const { return "127.0.0.1:" + std::to_string(port_); }
  int port_ = 0;
  pid_t pid_ = -1;
  bool ready_ = false;
};

}  // namespace weft::testing
