#include "tests/chaos/chaos_actors.h"

#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <stdexcept>
#include <thread>

namespace weft::chaos {

Journal::Journal(std::string path)
    : fd_(open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644)) {
  if (fd_ < 0) throw std::runtime_error("cannot open journal " + path);
}

Journal::~Journal() { close(fd_); }

void Journal::Append(int caller, int64_t seq) const {
  const std::string line = std::to_string(caller) + " " + std::to_string(seq) + "\n";
  if (write(fd_, line.data(), line.size()) != static_cast<ssize_t>(line.size())) {
    throw std::runtime_error("cannot write the journal");
  }
}

int64_t ThreadedLedger::Apply(int caller, int64_t seq) {
  std::this_thread::sleep_for(std::chrono::milliseconds(2));
  journal_.Append(caller, seq);
  return seq;
}

weft::Async<int64_t> AsyncLedger::Apply(int caller, int64_t seq) {
  co_await weft::Sleep(std::chrono::milliseconds(2));
  journal_.Append(caller, seq);
  co_return seq;
}

int64_t SlowSquare(int64_t x, int ms) {
  std::this_thread::sleep_for(std::chrono::milliseconds(ms));
  return x * x;
}

std::string LargeBlob(int64_t seq) {
  std::string blob(150 * 1024, '\0');
  for (size_t i = 0; i < blob.size(); ++i) blob[i] = static_cast<char>((seq + i * 31) % 251);
  return blob;
}

namespace {

const auto kThreadedLedger = weft::ActorClass<ThreadedLedger>("ThreadedLedger")
                                 .Constructor<std::string>()
                                 .Method("Apply", &ThreadedLedger::Apply);
const auto kAsyncLedger = weft::ActorClass<AsyncLedger>("AsyncLedger")
                              .Constructor<std::string>()
                              .Method("Apply", &AsyncLedger::Apply);
const bool kSlowSquare = weft::RemoteFunction("SlowSquare", &SlowSquare);
const bool kLargeBlob = weft::RemoteFunction("LargeBlob", &LargeBlob);

}  // namespace
}  // namespace weft::chaos
