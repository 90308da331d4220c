#include "tests/actors/nested_actors.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <stdexcept>
#include <thread>

namespace weft::testing {
namespace {

constexpr int kPendingMs = 300;  // how long a "pending" argument takes to exist
constexpr int64_t kSmallBytes = 100;
constexpr int64_t kLargeBytes = 1 << 20;
constexpr int64_t kPendingBytes = 200 * 1000;  // above the inline threshold too

int64_t BytesOf(int arg) {
  return arg == kSmallArg ? kSmallBytes : arg == kLargeArg ? kLargeBytes : kPendingBytes;
}

}  // namespace

std::string MakeBlob(int64_t bytes, int seed) {
  std::string blob(static_cast<size_t>(bytes), '\0');
  for (int64_t i = 0; i < bytes; ++i) blob[i] = static_cast<char>('a' + (i * 7 + seed) % 26);
  return blob;
}

int64_t ChecksumOf(std::string_view data) {
  uint64_t sum = 0;  // wraps around: unsigned overflow is defined
  for (unsigned char c : data) sum = sum * 31 + c;
  return static_cast<int64_t>(sum);
}

int64_t ExpectedScenario(int arg) { return ChecksumOf(MakeBlob(BytesOf(arg), arg)); }

int64_t RunScenario(int callee, int arg) {
  weft::ObjectRef<std::string> ref;
  switch (arg) {
    case kSmallArg:
      ref = weft::Put(MakeBlob(kSmallBytes, arg));
      break;
    case kLargeArg:  // stored by the worker that made it, and already there
      ref = weft::Task(&SlowBlob).Remote(0, kLargeBytes, arg);
      weft::Wait(std::vector{ref}, 1, std::nullopt, /*fetch_local=*/false);
      break;
    default:  // still being made when it is passed on
      ref = weft::Task(&SlowBlob).Remote(kPendingMs, kPendingBytes, arg);
  }
  if (arg == kNestedPendingArg) {
    std::vector<weft::ObjectRef<std::string>> nested{ref};
    if (callee == kTaskCallee) return weft::Task(&TaskChecksumAll).Remote(nested).Get();
    auto prober = weft::Actor<Prober>().Remote(false);
    return prober.Call(&Prober::ChecksumAll, nested).Get();
  }
  if (callee == kTaskCallee) return weft::Task(&TaskChecksum).Remote(ref).Get();
  auto prober = weft::Actor<Prober>().Remote(false);
  return prober.Call(&Prober::Checksum, ref).Get();
}

Prober::Prober(bool make_child) {
  if (make_child) child_ = weft::Actor<Recorder>().Remote();
}

int64_t Prober::ChecksumAll(std::vector<weft::ObjectRef<std::string>> refs) {
  return TaskChecksumAll(std::move(refs));
}

int Prober::AskChild(int x) { return child_.Call(&Recorder::Echo, x).Get(); }

weft::ObjectRef<int> Prober::ChildSlowRef(int x, int ms) {
  return child_.Call(&Recorder::SlowEcho, x, ms);
}

int64_t Prober::BlobChecksumFromChild(int64_t bytes) {
  return ChecksumOf(child_.Call(&Recorder::Blob, bytes).Get());
}

int Prober::Relay(int depth) {
  if (depth == 0) throw std::domain_error("the bottom of the chain");
  auto next = weft::Actor<Prober>().Remote(false);
  return next.Call(&Prober::Relay, depth - 1).Get();
}

weft::ObjectRef<int> Prober::Keep(weft::ObjectRef<int> ref) {
  kept_ = ref;
  return kept_;
}

int Prober::GetKept() { return kept_.Get(); }

void Prober::StartJournaledTask(std::string journal, int ms) {
  kept_ = weft::Task(&JournaledSlowInt).Remote(journal, ms, 1);
}

std::string Prober::KeepBlobFrom(std::string name, int64_t bytes) {
  kept_blob_ = weft::GetActor<Recorder>(name).Call(&Recorder::Blob, bytes);
  weft::Wait(std::vector{kept_blob_}, 1, std::nullopt, /*fetch_local=*/false);
  return kept_blob_.id();
}

weft::ObjectRef<std::string> Prober::MakeBlobRef(std::string name, int64_t bytes) {
  auto blob = weft::GetActor<Recorder>(name).Call(&Recorder::Blob, bytes);
  weft::Wait(std::vector{blob}, 1, std::nullopt, /*fetch_local=*/false);
  return blob;
}

int Prober::Signal(std::string name, weft::ObjectRef<int> pending) {
  kept_ = pending;
  weft::GetActor<Recorder>(name).Call(&Recorder::Append, 1).Get();
  return 7;
}

void Prober::KeepBlob(weft::ObjectRef<std::string> blob) { kept_blobs_.push_back(blob); }

void Prober::KeepBlobs(std::vector<weft::ObjectRef<std::string>> blobs) {
  kept_blobs_.insert(kept_blobs_.end(), blobs.begin(), blobs.end());
}

void Prober::HandKeptBlobOn(std::string name) {
  weft::GetActor<Prober>(name).Call(&Prober::KeepBlob, kept_blob_).Get();
  kept_blob_ = {};
}

void Prober::UnboxBlobs(weft::ObjectRef<std::vector<weft::ObjectRef<std::string>>> box) {
  KeepBlobs(box.Get());
}

void Prober::HandBlobOn(std::string name, weft::ObjectRef<std::string> blob) {
  weft::GetActor<Prober>(name).Call(&Prober::KeepBlob, blob).Get();
}

int64_t Prober::KeptChecksum() {
  uint64_t sum = 0;  // wraps around: unsigned overflow is defined (UBSan found the signed one)
  for (const auto& blob : kept_blobs_) sum += static_cast<uint64_t>(ChecksumOf(blob.Get()));
  return static_cast<int64_t>(sum);
}

int64_t Prober::ChecksumKeptThrough(std::string name) {
  return weft::GetActor<Prober>(name).Call(&Prober::Checksum, kept_blobs_.at(0)).Get();
}

weft::ObjectRef<std::string> Prober::PutBlob(int64_t bytes) {
  return weft::Put(Recorder().Blob(bytes));
}

void Prober::DropKept() { kept_blobs_.clear(); }

int Prober::Pid() { return getpid(); }

int LendBlobToKeeper(std::string store, std::string keeper, int64_t bytes) {
  auto blob = weft::GetActor<Recorder>(store).Call(&Recorder::Blob, bytes);
  weft::GetActor<Prober>(keeper).Call(&Prober::KeepBlob, blob).Get();
  return getpid();
}

std::string SlowBlob(int ms, int64_t bytes, int seed) {
  std::this_thread::sleep_for(std::chrono::milliseconds(ms));  // the workload under test
  return MakeBlob(bytes, seed);
}

int SlowInt(int ms, int x) {
  std::this_thread::sleep_for(std::chrono::milliseconds(ms));  // the workload under test
  return x;
}

int JournaledSlowInt(std::string journal, int ms, int x) {
  weft::GetActor<Recorder>(journal).Call(&Recorder::Append, static_cast<int>(getpid())).Get();
  return SlowInt(ms, x);
}

int FailFirstTry(std::string journal) {
  auto recorder = weft::GetActor<Recorder>(journal);
  recorder.Call(&Recorder::Append, 1).Get();
  const auto entries = recorder.Call(&Recorder::Sequence).Get();
  if (entries.size() == 1) throw std::runtime_error("the first try fails");
  return static_cast<int>(entries.size());
}

int EchoThroughRestarts(std::string name, std::string flag, int n, int ms) {
  auto actor = weft::GetActor<Recorder>(name);
  weft::GetActor<Recorder>(flag).Call(&Recorder::Append, 1).Get();
  int returned = 0;
  for (int i = 0; i < n; ++i) {
    for (int attempt = 0; attempt < 100; ++attempt) {
      try {
        returned += actor.Call(&Recorder::SlowEcho, i, ms).Get() == i;
        break;
      } catch (const weft::ActorUnavailableError&) {  // lost with the old copy: call again
      }
    }
  }
  return returned;
}

int64_t TaskChecksum(std::string data) { return ChecksumOf(data); }

int WaitForSignal(std::string name, int ms) {
  auto recorder = weft::GetActor<Recorder>(name);
  const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
  while (std::chrono::steady_clock::now() < until) {
    const auto entries = recorder.Call(&Recorder::Sequence).Get();
    if (!entries.empty()) return static_cast<int>(entries.size());
    std::this_thread::sleep_for(std::chrono::milliseconds(10));  // polling: the workload
  }
  return -1;
}

int Signal(std::string name, weft::ObjectRef<int> pending) {
  weft::GetActor<Recorder>(name).Call(&Recorder::Append, 1).Get();
  return 7;
}

std::string Reversed(std::string data) {
  std::reverse(data.begin(), data.end());
  return data;
}

int64_t TaskChecksumAll(std::vector<weft::ObjectRef<std::string>> refs) {
  uint64_t sum = 0;
  for (const auto& ref : refs) sum += static_cast<uint64_t>(ChecksumOf(ref.Get()));
  return static_cast<int64_t>(sum);
}

int64_t TaskScenario(int callee, int arg) { return RunScenario(callee, arg); }

int FanOut(int width, int depth) {
  if (depth == 0) return 1;
  std::vector<weft::ObjectRef<int>> children;
  for (int i = 0; i < width; ++i) children.push_back(weft::Task(&FanOut).Remote(width, depth - 1));
  int sum = 0;
  for (int value : weft::Get(children)) sum += value;
  return sum;
}

weft::ActorHandle<Recorder> MakeNamedRecorder(std::string name) {
  weft::Actor<Recorder>({.name = name, .detached = false}).Remote();
  return weft::GetActor<Recorder>(name);
}

weft::ActorHandle<Recorder> MakeRecorder() { return weft::Actor<Recorder>().Remote(); }

int EchoThrough(weft::ActorHandle<Recorder> actor, int x) {
  return actor.Call(&Recorder::Echo, x).Get();
}

int EchoNamed(std::string name, int x) {
  return weft::GetActor<Recorder>(name).Call(&Recorder::Echo, x).Get();
}

int Deref(weft::ObjectRef<int> ref) { return ref.Get(); }

weft::ObjectRef<int> StartSlowInt(int ms, int x) { return weft::Task(&SlowInt).Remote(ms, x); }

int Forward(weft::ObjectRef<int> ref) { return weft::Task(&Deref).Remote(ref).Get(); }

int ProberRelay(int depth) {
  auto top = weft::Actor<Prober>().Remote(false);
  return top.Call(&Prober::Relay, depth).Get();
}

std::pair<int, int> CallManyAndCount(std::string name, std::string flag, int n, int ms) {
  auto victim = weft::GetActor<Recorder>(name);
  std::vector<weft::ObjectRef<int>> refs;
  for (int i = 0; i < n; ++i) refs.push_back(victim.Call(&Recorder::SlowEcho, i, ms));
  weft::GetActor<Recorder>(flag).Call(&Recorder::Append, 1).Get();
  std::pair<int, int> counts{0, 0};
  for (const auto& ref : refs) {
    try {
      ref.Get();
      ++counts.first;
    } catch (const weft::RemoteError& e) {
      if (e.code() == 14 && e.message().find("is dead") != std::string::npos) ++counts.second;
    }
  }
  return counts;
}

namespace {
const auto kProber = weft::ActorClass<Prober>("Prober")
                         .Constructor<bool>()
                         .Method("Checksum", &Prober::Checksum)
                         .Method("ChecksumAll", &Prober::ChecksumAll)
                         .Method("Scenario", &Prober::Scenario)
                         .Method("AskChild", &Prober::AskChild)
                         .Method("ChildSlowRef", &Prober::ChildSlowRef)
                         .Method("BlobChecksumFromChild", &Prober::BlobChecksumFromChild)
                         .Method("Relay", &Prober::Relay)
                         .Method("Keep", &Prober::Keep)
                         .Method("GetKept", &Prober::GetKept)
                         .Method("StartJournaledTask", &Prober::StartJournaledTask)
                         .Method("Signal", &Prober::Signal)
                         .Method("KeepBlobFrom", &Prober::KeepBlobFrom)
                         .Method("MakeBlobRef", &Prober::MakeBlobRef)
                         .Method("KeepBlob", &Prober::KeepBlob)
                         .Method("KeepBlobs", &Prober::KeepBlobs)
                         .Method("UnboxBlobs", &Prober::UnboxBlobs)
                         .Method("HandKeptBlobOn", &Prober::HandKeptBlobOn)
                         .Method("KeptBlobs", &Prober::KeptBlobs)
                         .Method("TakeKept", &Prober::TakeKept)
                         .Method("HandBlobOn", &Prober::HandBlobOn)
                         .Method("KeptChecksum", &Prober::KeptChecksum)
                         .Method("ChecksumKeptThrough", &Prober::ChecksumKeptThrough)
                         .Method("PutBlob", &Prober::PutBlob)
                         .Method("DropKept", &Prober::DropKept)
                         .Method("Pid", &Prober::Pid);
const auto kValueHolder = weft::ActorClass<ValueHolder>("ValueHolder")
                              .Constructor<std::string>()
                              .Method("Size", &ValueHolder::Size)
                              .Method("FailWith", &ValueHolder::FailWith);
const auto kBlobHolder = weft::ActorClass<BlobHolder>("BlobHolder")
                             .Constructor<weft::ObjectRef<std::string>>()
                             .Method("Checksum", &BlobHolder::Checksum);
const bool kSlowBlob = weft::RemoteFunction("SlowBlob", &SlowBlob);
const bool kLendBlobToKeeper = weft::RemoteFunction("LendBlobToKeeper", &LendBlobToKeeper);
const bool kSlowInt = weft::RemoteFunction("SlowInt", &SlowInt);
const bool kFailFirstTry = weft::RemoteFunction("FailFirstTry", &FailFirstTry);
const bool kEchoThroughRestarts = weft::RemoteFunction("EchoThroughRestarts", &EchoThroughRestarts);
const bool kJournaledSlowInt = weft::RemoteFunction("JournaledSlowInt", &JournaledSlowInt);
const bool kTaskChecksum = weft::RemoteFunction("TaskChecksum", &TaskChecksum);
const bool kTaskChecksumAll = weft::RemoteFunction("TaskChecksumAll", &TaskChecksumAll);
const bool kReversed = weft::RemoteFunction("Reversed", &Reversed);
const bool kWaitForSignal = weft::RemoteFunction("WaitForSignal", &WaitForSignal);
const bool kSignal = weft::RemoteFunction("Signal", &Signal);
const bool kTaskScenario = weft::RemoteFunction("TaskScenario", &TaskScenario);
const bool kFanOut = weft::RemoteFunction("FanOut", &FanOut);
const bool kMakeNamedRecorder = weft::RemoteFunction("MakeNamedRecorder", &MakeNamedRecorder);
const bool kEchoNamed = weft::RemoteFunction("EchoNamed", &EchoNamed);
const bool kMakeRecorder = weft::RemoteFunction("MakeRecorder", &MakeRecorder);
const bool kEchoThrough = weft::RemoteFunction("EchoThrough", &EchoThrough);
const bool kDeref = weft::RemoteFunction("Deref", &Deref);
const bool kForward = weft::RemoteFunction("Forward", &Forward);
const bool kStartSlowInt = weft::RemoteFunction("StartSlowInt", &StartSlowInt);
const bool kProberRelay = weft::RemoteFunction("ProberRelay", &ProberRelay);
const bool kCallManyAndCount = weft::RemoteFunction("CallManyAndCount", &CallManyAndCount);
}  // namespace

}  // namespace weft::testing
