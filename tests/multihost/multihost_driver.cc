// Driver of tests/multihost/multihost_test.sh, run on the client host: a network namespace
// with no Weft daemon, whose copy of this program's code only it can see. Each node of the
// test cluster offers one resource of its own ("host1", "host2", "host3").
//
//   multihost_driver place          an actor on each host, says where each runs (its network
//                                   namespace), then passes a 5 MiB result made on host1 to
//                                   host2 (an actor) and host3 (a task) before it exists
//   multihost_driver pin NAME HOST  a detached actor NAME on HOST; prints its namespace
//   multihost_driver call NAME MS   once a line is read, calls NAME's Echo, waiting up to MS ms
//                                   for the answer (says "ready" first; at the end, when)
//   multihost_driver kill NAME      kills the detached actor NAME
//
// Prints one line per fact ("host1 net:[4026532201]", "xref ok ...", "call ok 7 in 12 ms",
// "call ActorDiedError in 3120 ms: ..."), and exits 0; 1 with "error: ..." when a step failed.

#include <weft/weft.h>

#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdlib>
#include <iostream>
#include <mutex>
#include <string>

namespace {

constexpr std::chrono::seconds kTimeout{60};

// Which network namespace this process is in: on the test's hosts, which host.
std::string NetworkNamespace() {
  char link[64] = {};
  const ssize_t n = readlink("/proc/self/ns/net", link, sizeof(link) - 1);
  return n > 0 ? std::string(link, n) : "unknown";
}

std::string Blob(int64_t bytes, int seed) {
  std::string data(bytes, '\0');
  uint32_t x = 2463534242u + seed;
  for (auto& c : data) {
    x ^= x << 13, x ^= x >> 17, x ^= x << 5;
    c = static_cast<char>(x);
  }
  return data;
}

int64_t ChecksumOf(const std::string& data) {
  int64_t sum = 0;
  for (size_t i = 0; i < data.size(); ++i)
    sum += static_cast<unsigned char>(data[i]) * (i % 251 + 1);
  return sum;
}

}  // namespace

// One per host. Threaded, four calls at a time: Gate waits while Open runs.
class Host {
 public:
  std::string Net() { return NetworkNamespace(); }
  int Echo(int x) { return x; }
  // Returns once Open was called (or after a minute, with -1).
  int Gate() {
    std::unique_lock lock(mu_);
    return opened_.wait_for(lock, kTimeout, [&] { return open_; }) ? 1 : -1;
  }
  void Open() {
    std::lock_guard lock(mu_);
    open_ = true;
    opened_.notify_all();
  }
  // `gate` is the Gate's answer: this runs only once the gate opened.
  std::string MakeBlob(int64_t bytes, int gate) { return Blob(bytes, gate); }
  int64_t Checksum(std::string data) { return ChecksumOf(data); }

 private:
  std::mutex mu_;
  std::condition_variable opened_;
  bool open_ = false;
};

static const auto kHost = weft::ActorClass<Host>("Host")
                              .Method("Net", &Host::Net)
                              .Method("Echo", &Host::Echo)
                              .Method("Gate", &Host::Gate)
                              .Method("Open", &Host::Open)
                              .Method("MakeBlob", &Host::MakeBlob)
                              .Method("Checksum", &Host::Checksum);

std::string TaskNet(std::string data) {
  return NetworkNamespace() + " " + std::to_string(ChecksumOf(data));
}
static const bool kTaskNet = weft::RemoteFunction("TaskNet", &TaskNet);

namespace {

weft::ActorHandle<Host> HostActor(const std::string& host, const std::string& name = "") {
  return weft::Actor<Host>({.name = name,
                            .max_concurrency = 4,
                            .resources = {{host, 1}},
                            .detached = !name.empty()})
      .Remote();
}

int Place() {
  weft::ActorHandle<Host> hosts[] = {HostActor("host1"), HostActor("host2"), HostActor("host3")};
  for (int i = 0; i < 3; ++i) {
    std::cout << "host" << i + 1 << " " << hosts[i].Call(&Host::Net).Get(kTimeout) << std::endl;
  }
  // A result of host1, held back by a gate on host3, goes to host2's actor and to a task on
  // host3 while it does not exist yet; each fetches it from host1, and so does this driver.
  constexpr int64_t kBytes = 5 << 20;
  auto gate = hosts[2].Call(&Host::Gate);
  auto blob = hosts[0].Call(&Host::MakeBlob, kBytes, gate);
  auto on_host2 = hosts[1].Call(&Host::Checksum, blob);
  auto on_host3 = weft::Task(&TaskNet, {.num_cpus = 0, .resources = {{"host3", 1}}}).Remote(blob);
  try {
    on_host2.Get(std::chrono::milliseconds(200));
    std::cout << "error: host2 had the result before its gate opened" << std::endl;
    return 1;
  } catch (const weft::GetTimeoutError&) {
  }
  hosts[2].Call(&Host::Open).Get(kTimeout);
  const int64_t expected = ChecksumOf(Blob(kBytes, 1));
  const int64_t here = ChecksumOf(blob.Get(kTimeout));
  std::cout << "xref driver " << (here == expected ? "ok" : "WRONG") << " " << here << std::endl;
  const int64_t host2 = on_host2.Get(kTimeout);
  std::cout << "xref host2 " << (host2 == expected ? "ok" : "WRONG") << " " << host2 << std::endl;
  // "net:[...] checksum"
  const std::string host3 = on_host3.Get(kTimeout);
  const bool host3_ok = host3.substr(host3.find(' ') + 1) == std::to_string(expected);
  std::cout << "xref host3 " << (host3_ok ? "ok" : "WRONG") << " " << host3 << std::endl;
  return here == expected && host2 == expected && host3_ok ? 0 : 1;
}

int Pin(const std::string& name, const std::string& host) {
  auto actor = HostActor(host, name);
  std::cout << name << " " << actor.Call(&Host::Net).Get(kTimeout) << std::endl;
  return 0;
}

// Prints "ready" and reads a line (or end of input) before the call, then how it ended and
// when: "call ok 7 in 12 ms" or "call ActorDiedError in 3120 ms: ...", and "ended at <Unix ms>".
// Exits 0 either way: the test judges the lines.
int Call(const std::string& name, int wait_ms) {
  auto actor = weft::GetActor<Host>(name);
  // Connected to the actor's worker first, as a driver that has been calling it is: a
  // connection opened during a partition is another case (README "When things fail").
  if (actor.Call(&Host::Echo, 0).Get(std::chrono::milliseconds(wait_ms)) != 0) return 1;
  // The test cuts the link, then sends a line: the call is made during the partition.
  std::cout << "ready" << std::endl;
  std::string go;
  std::getline(std::cin, go);
  const auto start = std::chrono::steady_clock::now();
  const auto elapsed = [&] {
    return std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(
                              std::chrono::steady_clock::now() - start)
                              .count()) +
           " ms";
  };
  std::string how;
  try {
    const int echoed = actor.Call(&Host::Echo, 7).Get(std::chrono::milliseconds(wait_ms));
    how = "ok " + std::to_string(echoed) + " in " + elapsed();
  } catch (const weft::ActorDiedError& e) {
    how = "ActorDiedError in " + elapsed() + ": " + e.what();
  } catch (const weft::ActorUnavailableError& e) {
    how = "ActorUnavailableError in " + elapsed() + ": " + e.what();
  } catch (const weft::GetTimeoutError& e) {
    how = "GetTimeoutError in " + elapsed() + ": " + e.what();
  }
  const auto now = std::chrono::system_clock::now().time_since_epoch();
  std::cout << "call " << how << std::endl
            << "ended at " << std::chrono::duration_cast<std::chrono::milliseconds>(now).count()
            << std::endl;
  return 0;
}

int Kill(const std::string& name) {
  weft::Kill(weft::GetActor<Host>(name));
  std::cout << "killed " << name << std::endl;
  return 0;
}

int Usage() {
  std::cout << "error: usage: multihost_driver place | pin NAME HOST | call NAME MS | kill NAME"
            << std::endl;
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string mode = argc > 1 ? argv[1] : "";
  const int wanted = mode == "place"                   ? 2
                     : mode == "pin" || mode == "call" ? 4
                     : mode == "kill"                  ? 3
                                                       : 0;
  if (wanted == 0 || argc != wanted) return Usage();
  int code = 0;
  try {
    weft::Init();
    code = mode == "place"  ? Place()
           : mode == "pin"  ? Pin(argv[2], argv[3])
           : mode == "call" ? Call(argv[2], std::atoi(argv[3]))
                            : Kill(argv[2]);
  } catch (const weft::Error& error) {
    std::cout << "error: " << error.what() << std::endl;
    code = 1;
  }
  weft::Shutdown();
  return code;
}
