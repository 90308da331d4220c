#pragma once

// Test hosts in Linux network namespaces, for the tests of what crosses a network (as root):
// a namespace joined to this one by a veth pair, with its link to cut, its address to move and
// a NAT in front of it, and a capture of the frames crossing that link.

#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/synchronization/mutex.h"
#include "tests/cluster_harness.h"

namespace weft::testing {

inline std::string IpBinary() {
  for (const char* path : {"/usr/sbin/ip", "/sbin/ip", "/usr/bin/ip", "/bin/ip"}) {
    if (access(path, X_OK) == 0) return path;
  }
  return "";
}

// Runs `ip <args>`; its stderr is the error.
inline absl::StatusOr<std::string> Ip(std::vector<std::string> args) {
  args.insert(args.begin(), IpBinary());
  const auto result = Run(args, std::chrono::seconds(10));
  if (result.exit_code == 0) return result.out;
  return absl::InternalError(absl::StrCat(absl::StrJoin(args, " "), ": ", result.err));
}

// A network namespace joined to the root namespace by a veth pair: 10.213.<n>.1 on the root
// side, 10.213.<n>.2 inside, with the first n no address or route of this machine uses.
// Everything it made is removed on destruction (after the processes inside are gone).
class NetNamespace {
 public:
  // Fails when the namespace or its link cannot be made (not root, no netns support).
  static absl::StatusOr<std::unique_ptr<NetNamespace>> Create() {
    if (IpBinary().empty()) return absl::UnavailableError("no `ip` command");
    std::unique_ptr<NetNamespace> net(new NetNamespace());
    if (auto made = net->Make(); !made.ok()) return made;
    return net;
  }
  ~NetNamespace() {
    for (auto it = nat_undo_.rbegin(); it != nat_undo_.rend(); ++it) (void)IpTables(*it);
    for (auto it = undo_.rbegin(); it != undo_.rend(); ++it) (void)Ip(*it);
  }

  // An address this machine's packets to are sent to the namespace's (DNAT in the root
  // namespace, as a NAT router in front of it would): <subnet>.99, which nothing inside the
  // namespace answers for, so that the namespace cannot reach itself there.
  absl::StatusOr<std::string> NatAddress() {
    const std::string nat = subnet_ + ".99";
    const std::vector<std::string> rule = {"-t", "nat",  "OUTPUT",           "-d",     nat + "/32",
                                           "-j", "DNAT", "--to-destination", inner_ip_};
    std::vector<std::string> add = rule, remove = rule;
    add.insert(add.begin() + 2, "-A");
    remove.insert(remove.begin() + 2, "-D");
    if (auto added = IpTables(add); !added.ok()) return added;
    nat_undo_.push_back(remove);
    return nat;
  }

  const std::string& root_ip() const { return root_ip_; }
  const std::string& root_dev() const { return root_dev_; }
  const std::string& inner_ip() const { return inner_ip_; }
  // Prefix that runs a command inside the namespace.
  std::vector<std::string> Exec() const { return {IpBinary(), "netns", "exec", name_}; }
  // Moves the namespace's side of the link to another address of its subnet (.3), as a DHCP
  // lease or a re-plumbed network would; returns it.
  absl::StatusOr<std::string> MoveInnerAddress() {
    const std::string moved = subnet_ + ".3";
    for (const auto& step : std::vector<std::vector<std::string>>{
             {"-n", name_, "addr", "del", inner_ip_ + "/24", "dev", inner_dev_},
             {"-n", name_, "addr", "add", moved + "/24", "dev", inner_dev_}}) {
      if (auto done = Ip(step); !done.ok()) return done.status();
    }
    inner_ip_ = moved;
    return moved;
  }
  // Sets the root side of the link down (the partition) or up (healed).
  absl::Status SetLink(bool up) {
    return Ip({"link", "set", root_dev_, up ? "up" : "down"}).status();
  }

 private:
  NetNamespace()
      : name_(absl::StrCat("weft-part-", getpid())),
        root_dev_(absl::StrCat("wp", getpid(), "r")),
        inner_dev_(absl::StrCat("wp", getpid(), "n")) {}

  absl::Status Make() {
    auto subnet = FreeSubnet();
    if (!subnet.ok()) return subnet.status();
    subnet_ = *subnet;
    root_ip_ = *subnet + ".1";
    inner_ip_ = *subnet + ".2";
    const std::string prefix = *subnet + ".0/24";
    struct Step {
      std::vector<std::string> run, undo;  // `ip` arguments; undo empty: goes with another
    };
    const Step steps[] = {
        {{"netns", "add", name_}, {"netns", "del", name_}},
        {{"link", "add", root_dev_, "type", "veth", "peer", "name", inner_dev_},
         {"link", "del", root_dev_}},  // both ends
        {{"link", "set", inner_dev_, "netns", name_}, {}},
        {{"addr", "add", root_ip_ + "/24", "dev", root_dev_}, {}},
        {{"link", "set", root_dev_, "up"}, {}},
        {{"-n", name_, "addr", "add", inner_ip_ + "/24", "dev", inner_dev_}, {}},
        {{"-n", name_, "link", "set", inner_dev_, "up"}, {}},
        {{"-n", name_, "link", "set", "lo", "up"}, {}},
        // While the link is down, packets for the namespace get "no route to host" here, as a
        // router would answer, instead of leaving the machine by its default route.
        {{"route", "add", "unreachable", prefix, "metric", "1000"},
         {"route", "del", "unreachable", prefix, "metric", "1000"}}};
    for (const Step& step : steps) {
      if (auto done = Ip(step.run); !done.ok()) return done.status();
      if (!step.undo.empty()) undo_.push_back(step.undo);
    }
    return absl::OkStatus();
  }

  // "10.213.<n>" for the first n, counted from this process's pid, that appears in no address
  // or route (a parallel run or a leftover of a killed one may hold another).
  static absl::StatusOr<std::string> FreeSubnet() {
    auto addrs = Ip({"-4", "-o", "addr", "show"});
    auto routes = Ip({"-4", "route", "show", "table", "all"});
    if (!addrs.ok()) return addrs.status();
    if (!routes.ok()) return routes.status();
    for (int i = 0; i < 250; ++i) {
      const std::string subnet = absl::StrCat("10.213.", 1 + (getpid() + i) % 250);
      const std::string dotted = subnet + ".";
      if (!absl::StrContains(*addrs, dotted) && !absl::StrContains(*routes, dotted)) return subnet;
    }
    return absl::ResourceExhaustedError("every 10.213.x.0/24 subnet is in use");
  }

  static absl::Status IpTables(std::vector<std::string> args) {
    for (const char* path : {"/usr/sbin/iptables", "/sbin/iptables"}) {
      if (access(path, X_OK) != 0) continue;
      args.insert(args.begin(), path);
      const auto result = Run(args, std::chrono::seconds(10));
      if (result.exit_code == 0) return absl::OkStatus();
      return absl::InternalError(absl::StrCat(absl::StrJoin(args, " "), ": ", result.err));
    }
    return absl::UnavailableError("no `iptables` command");
  }

  std::string name_, root_dev_, inner_dev_, subnet_, root_ip_, inner_ip_;
  std::vector<std::vector<std::string>> undo_;      // `ip` commands that remove what was made
  std::vector<std::vector<std::string>> nat_undo_;  // `iptables` commands, run first
};

// Every frame crossing the link from here on (a packet socket on the root side of the veth),
// up to 64 MiB, until destroyed.
class LinkCapture {
 public:
  explicit LinkCapture(const std::string& device) {
    fd_ = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(ETH_P_ALL));
    sockaddr_ll where{};
    where.sll_family = AF_PACKET;
    where.sll_protocol = htons(ETH_P_ALL);
    where.sll_ifindex = static_cast<int>(if_nametoindex(device.c_str()));
    if (fd_ < 0 || bind(fd_, reinterpret_cast<sockaddr*>(&where), sizeof(where)) != 0) return;
    timeval tick{0, 100000};  // the reader checks for its end this often
    setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tick, sizeof(tick));
    reader_ = std::thread([this] {
      std::string frame(65536, '\0');
      while (!stopping_.load()) {
        const ssize_t n = recv(fd_, frame.data(), frame.size(), 0);
        absl::MutexLock lock(&mu_);
        if (n > 0 && bytes_.size() < (size_t{64} << 20)) bytes_.append(frame.data(), n);
      }
    });
  }
  ~LinkCapture() {
    stopping_ = true;
    if (reader_.joinable()) reader_.join();
    if (fd_ >= 0) close(fd_);
  }
  bool ok() const { return reader_.joinable(); }
  bool Saw(const std::string& text) {
    absl::MutexLock lock(&mu_);
    return absl::StrContains(bytes_, text);
  }

 private:
  int fd_ = -1;
  std::atomic<bool> stopping_{false};
  std::thread reader_;
  absl::Mutex mu_;
  std::string bytes_ ABSL_GUARDED_BY(mu_);
};

}  // namespace weft::testing
