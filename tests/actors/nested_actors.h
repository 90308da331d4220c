#pragma once

// Actors and tasks that use Weft from inside the cluster: they create actors, submit tasks,
// pass references on before their values exist and rethrow each other's errors. The
// programming-model tests call them from the driver, from tasks and from actors alike.

#include <weft/weft.h>

#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "tests/actors/test_actors.h"

namespace weft::testing {

// Who calls and what it passes, in RunScenario.
enum Callee : int { kTaskCallee = 0, kActorCallee = 1 };
enum ArgKind : int { kSmallArg = 0, kLargeArg = 1, kPendingArg = 2, kNestedPendingArg = 3 };

// Deterministic bytes and their checksum, the same in every process.
std::string MakeBlob(int64_t bytes, int seed);
int64_t ChecksumOf(std::string_view data);
// What RunScenario must return for `arg`.
int64_t ExpectedScenario(int arg);
// Makes the argument of kind `arg`, has a task or an actor (a new Prober) take its checksum,
// and returns what the callee computed. Runs in a driver, a task or an actor.
int64_t RunScenario(int callee, int arg);

// Thread-pool actor that uses the cluster from inside.
class Prober {
 public:
  explicit Prober(bool make_child);  // creates a Recorder child in its constructor if asked
  int64_t Checksum(std::string data) { return ChecksumOf(data); }
  int64_t ChecksumAll(std::vector<weft::ObjectRef<std::string>> refs);
  int64_t Scenario(int callee, int arg) { return RunScenario(callee, arg); }
  int AskChild(int x);                               // the child's Echo, through Get
  weft::ObjectRef<int> ChildSlowRef(int x, int ms);  // the child's call, still running
  int64_t BlobChecksumFromChild(int64_t bytes);      // a blocking Get of a large result
  int Relay(int depth);  // depth 0 throws std::domain_error; else a new Prober relays depth-1
  weft::ObjectRef<int> Keep(weft::ObjectRef<int> ref);  // stores the ref and hands it back
  // Appends 1 to the Recorder `name` and keeps `pending` (GetKept) without waiting for it.
  int Signal(std::string name, weft::ObjectRef<int> pending);
  // Calls Blob(bytes) on the Recorder `name` and keeps the reference (this actor owns the
  // result, which the Recorder stores); returns its id once it is stored.
  std::string KeepBlobFrom(std::string name, int64_t bytes);
  // Calls Blob(bytes) on the Recorder `name` and returns the reference once the result is
  // stored, without keeping it: this actor owns the object, its caller holds the reference.
  weft::ObjectRef<std::string> MakeBlobRef(std::string name, int64_t bytes);
  int GetKept();
  // Submits JournaledSlowInt(journal, ms, 1) and keeps its reference, without waiting.
  void StartJournaledTask(std::string journal, int ms);
  // Keep references to large values as members (an argument, or inside a vector), hand one on
  // to the Prober `name` to keep, report the checksum of all kept values, and drop them.
  void KeepBlob(weft::ObjectRef<std::string> blob);
  void KeepBlobs(std::vector<weft::ObjectRef<std::string>> blobs);
  // Gets the references out of `box` (a borrowed reference: its value is asked of its owner)
  // and keeps them.
  void UnboxBlobs(weft::ObjectRef<std::vector<weft::ObjectRef<std::string>>> box);
  void HandBlobOn(std::string name, weft::ObjectRef<std::string> blob);
  // Hands the reference KeepBlobFrom kept to the Prober `name` to keep, and drops its own.
  void HandKeptBlobOn(std::string name);
  std::vector<weft::ObjectRef<std::string>> KeptBlobs() { return kept_blobs_; }
  // Returns the kept references and drops them here.
  std::vector<weft::ObjectRef<std::string>> TakeKept() { return std::exchange(kept_blobs_, {}); }
  int64_t KeptChecksum();
  // Passes the first kept reference, without reading it here, to the Checksum (a parameter
  // taken by value) of the Prober `name`.
  int64_t ChecksumKeptThrough(std::string name);
  // Puts a value of `bytes` and returns the reference (this actor owns it).
  weft::ObjectRef<std::string> PutBlob(int64_t bytes);
  void DropKept();
  int Pid();

 private:
  weft::ActorHandle<Recorder> child_;
  weft::ObjectRef<int> kept_;
  weft::ObjectRef<std::string> kept_blob_;
  std::vector<weft::ObjectRef<std::string>> kept_blobs_;
};

// Keeps the reference given to its constructor.
class BlobHolder {
 public:
  explicit BlobHolder(weft::ObjectRef<std::string> blob) : blob_(std::move(blob)) {}
  int64_t Checksum() { return ChecksumOf(blob_.Get()); }

 private:
  weft::ObjectRef<std::string> blob_;
};

// Keeps the value given to its constructor.
class ValueHolder {
 public:
  explicit ValueHolder(std::string value) : value_(std::move(value)) {}
  int64_t Size() { return static_cast<int64_t>(value_.size()); }
  // Throws an exception whose message weighs `bytes`.
  int64_t FailWith(int64_t bytes) { throw std::runtime_error(std::string(bytes, 'e')); }

 private:
  std::string value_;
};

// Tasks.
std::string SlowBlob(int ms, int64_t bytes, int seed);
int SlowInt(int ms, int x);
// Appends this worker's pid to the Recorder `journal`, then SlowInt.
int JournaledSlowInt(std::string journal, int ms, int x);
// Appends 1 to the Recorder `journal`; throws std::runtime_error on the journal's first entry,
// else returns how many entries it has.
int FailFirstTry(std::string journal);
// Looks up the Recorder `name`, appends 1 to `flag` and then calls Echo(i) for i in [0, n),
// `ms` apart, retrying a call that throws ActorUnavailableError; returns how many returned.
int EchoThroughRestarts(std::string name, std::string flag, int n, int ms);
int64_t TaskChecksum(std::string data);
int64_t TaskChecksumAll(std::vector<weft::ObjectRef<std::string>> refs);
std::string Reversed(std::string data);  // a task whose output is made from its input
// Returns how many entries the Recorder `name` has once it has any (-1 after `ms`).
int WaitForSignal(std::string name, int ms);
// Appends 1 to the Recorder `name`; returns 7 without waiting for `pending`.
int Signal(std::string name, weft::ObjectRef<int> pending);
int64_t TaskScenario(int callee, int arg);
int FanOut(int width, int depth);  // width^depth leaves, each 1, summed through nested tasks
weft::ActorHandle<Recorder> MakeNamedRecorder(std::string name);  // also looks it up by name
int EchoNamed(std::string name, int x);                           // GetActor, then Echo
weft::ActorHandle<Recorder> MakeRecorder();  // an unnamed one, its handle returned at once
int EchoThrough(weft::ActorHandle<Recorder> actor, int x);  // Echo on the actor given
int Deref(weft::ObjectRef<int> ref);
weft::ObjectRef<int> StartSlowInt(int ms, int x);  // the ref of a nested task still running
int Forward(weft::ObjectRef<int> ref);             // Deref in a nested task
int ProberRelay(int depth);                        // a task at the top of a Relay chain
// Has the Recorder `store` make a blob of `bytes` (owned by this task's worker) and the Prober
// `keeper` keep it; returns this worker's pid.
int LendBlobToKeeper(std::string store, std::string keeper, int64_t bytes);
// Calls the Recorder `name` `n` times (SlowEcho of `ms`), appends 1 to Recorder `flag` once all
// are sent, and returns {calls that returned, calls that failed naming the actor as dead}.
std::pair<int, int> CallManyAndCount(std::string name, std::string flag, int n, int ms);

}  // namespace weft::testing
