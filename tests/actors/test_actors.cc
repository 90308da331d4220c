#include "tests/actors/test_actors.h"

#include <unistd.h>

#include <chrono>
#include <iostream>
#include <stdexcept>
#include <thread>

namespace weft::testing {

int64_t NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

void Recorder::Append(int i) {
  std::lock_guard lock(mu_);
  sequence_.push_back(i);
}

std::vector<int> Recorder::Sequence() const {
  std::lock_guard lock(mu_);
  return sequence_;
}

int Recorder::SlowEcho(int x, int ms) {
  std::this_thread::sleep_for(std::chrono::milliseconds(ms));  // the workload under test
  return x;
}

int Recorder::Fail(std::string message) { throw std::invalid_argument(message); }

std::string Recorder::Blob(int64_t bytes) {
  std::string blob(static_cast<size_t>(bytes), '\0');
  for (int64_t i = 0; i < bytes; ++i) blob[i] = static_cast<char>('a' + (i * 7) % 26);
  return blob;
}

int64_t Recorder::Checksum(std::string data) {
  uint64_t sum = 0;  // wraps around: unsigned overflow is defined
  for (unsigned char c : data) sum = sum * 31 + c;
  return static_cast<int64_t>(sum);
}

int Recorder::Pid() { return getpid(); }

std::string Recorder::Hello(std::string who) {
  std::cout << "hello " << who << std::endl;
  return "hello " + who;
}

std::pair<int64_t, int64_t> Spinner::Spin(int ms) {
  const int64_t start = NowNs();
  volatile uint64_t x = 0;
  while (NowNs() - start < int64_t{ms} * 1000000) x = x + 1;  // CPU-bound on purpose
  return {start, NowNs()};
}

weft::Async<int> Gate::Arrive() {
  const int me = ++arrived_;
  if (arrived_ == expected_) event_.Set();
  co_await event_.Wait();
  co_return me;
}

weft::Async<std::pair<int64_t, int64_t>> Gate::Timed(int ms) {
  const int64_t start = NowNs();
  co_await weft::Sleep(std::chrono::milliseconds(ms));
  co_return std::make_pair(start, NowNs());
}

weft::Async<int> Gate::AwaitRef(weft::ObjectRef<int> ref) { co_return co_await ref + 1; }

weft::Async<int> Gate::AskRecorder(std::string name, int x) {
  auto recorder = weft::GetActor<Recorder>(name);
  co_return co_await recorder.Call(&Recorder::SlowEcho, x, 50);
}

int Gate::GetFromRecorder(std::string name, int x) {
  auto recorder = weft::GetActor<Recorder>(name);
  return recorder.Call(&Recorder::SlowEcho, x, 200).Get();
}

int Gate::Pid() { return getpid(); }

int Add(int a, int b) { return a + b; }

int PidAfter(int ms) {
  std::this_thread::sleep_for(std::chrono::milliseconds(ms));  // the workload under test
  return getpid();
}

std::string Shout(std::string text) {
  std::cout << "shouting " << text << std::endl;
  for (auto& c : text) c = static_cast<char>(toupper(c));
  return text;
}

std::string StateSeenInside(std::string actor_id) {
  const weft::ActorInfo actor = weft::GetActorInfo(actor_id);
  return std::string(weft::ToString(actor.state)) + " pid=" + std::to_string(actor.pid);
}

namespace {

const auto kRecorder = weft::ActorClass<Recorder>("Recorder")
                           .Method("Append", &Recorder::Append)
                           .Method("Sequence", &Recorder::Sequence)
                           .Method("Echo", &Recorder::Echo)
                           .Method("SlowEcho", &Recorder::SlowEcho)
                           .Method("Fail", &Recorder::Fail)
                           .Method("Blob", &Recorder::Blob)
                           .Method("SharedBlob", &Recorder::SharedBlob)
                           .Method("ChecksumBlob", &Recorder::ChecksumBlob)
                           .Method("Checksum", &Recorder::Checksum)
                           .Method("Pid", &Recorder::Pid)
                           .Method("Hello", &Recorder::Hello);

const auto kSpinner = weft::ActorClass<Spinner>("Spinner").Method("Spin", &Spinner::Spin);

const auto kGate = weft::ActorClass<Gate>("Gate")
                       .Constructor<int>()
                       .Method("Arrive", &Gate::Arrive)
                       .Method("Echo", &Gate::Echo)
                       .Method("Timed", &Gate::Timed)
                       .Method("AwaitRef", &Gate::AwaitRef)
                       .Method("AskRecorder", &Gate::AskRecorder)
                       .Method("GetFromRecorder", &Gate::GetFromRecorder)
                       .Method("Pid", &Gate::Pid);

const bool kAdd = weft::RemoteFunction("Add", &Add);
const bool kPidAfter = weft::RemoteFunction("PidAfter", &PidAfter);
const bool kShout = weft::RemoteFunction("Shout", &Shout);
const bool kStateSeenInside = weft::RemoteFunction("StateSeenInside", &StateSeenInside);

}  // namespace
}  // namespace weft::testing
