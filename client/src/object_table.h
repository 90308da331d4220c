#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "common.pb.h"
#include "weft/bytes.h"
#include "worker.pb.h"

namespace weft::internal {

// Values up to this size travel inline (in a call's result, inside a reference's wire form);
// larger ones are stored (results in their worker's store, Put values where the node's
// processes can map them) and passed on as references.
inline constexpr size_t kInlineValueBytes = 100 * 1024;

// The objects this process holds references to, by id. An object is pending (its call runs),
// located (its bytes are in a worker's store), here (value or error), or fetching (located and
// on its way here).
//
// Ownership, as in Ray: the process that submitted the call (or Put the value) owns the object
// and learns its outcome first. A reference passed on before its value existed arrives at a
// borrower as a pending entry that names its owner's address; as soon as anyone here needs it
// (Get, Wait, co_await, an argument to send), the borrower asks the owner, which answers once
// the object is resolved (OwnerService).
//
// Loss: when the bytes of a located object cannot be fetched (the worker that stored them died
// or lost them), the owner re-runs the task that made it (its Rebuild, within the task's
// max_retries; recursively, as the re-run finds its own arguments lost), and waiters get the
// new copy. A borrower asks the owner to do so. What cannot be rebuilt (an actor method's
// result, a task with no retries left) fails as FAILURE_OBJECT_LOST naming the object, its
// owner and where it was. A rebuilt object's Rebuild (its lineage: the task and the references
// it takes) is kept while the object is located, and dropped once its value is here.
//
// Lifetime: an owned object whose bytes a worker stores (a large result) is freed there (Freer)
// when its entry goes: its last local ObjectRef is gone, no call that takes it is unfinished
// (calls hold their arguments, and the references inside them), and no borrower holds it.
// Borrowers are counted as in Ray: a call's result names the references it was lent that its
// callee still holds (CallResult.borrowed_ids); the owner then watches that process
// (BorrowerWatcher) until it holds the reference no more or dies. A borrower that hands a
// reference on reports the next borrower to the owner (BorrowerReporter) before letting go of
// its own. A reference inside a value that becomes an object is kept while that object lives:
// a Put object holds the references in its value itself (`inside`); a callee that returns
// references tells their owners that the caller borrows them before it replies (HandOver), and
// the caller's result object holds them (AdoptInside). A process that takes a reference out of
// a borrowed object's value (Get, or a value lent to a call) reports itself to the reference's
// owner, holding that object until the owner answers (Register). An object whose value holds
// references is never copied into another reference's wire form: it travels as a reference,
// counted as any other. A reference passed on in an actor's constructor arguments is not
// counted: its object stays for the life of the process that passed it on.
//
// Thread-safe; callbacks run without the lock held.
class ObjectTable {
 public:
  using Bytes = internal::Bytes;
  using Callback = std::function<void()>;
  using FetchDone = std::function<void(absl::StatusOr<Bytes>)>;
  // Fetches a located object's bytes from the worker that stores it.
  using Fetcher =
      std::function<void(const std::string& id, const proto::ObjectLocation&, FetchDone)>;
  // Asks `owner` for the outcome of object `id`; `done` gets the owner's answer. `lost_at`: the
  // worker whose copy could not be fetched (the owner rebuilds the object first), or empty.
  using OwnerDone = std::function<void(absl::StatusOr<proto::CallResult>)>;
  using OwnerAsker = std::function<void(const std::string& id, const std::string& owner,
                                        const std::string& lost_at, OwnerDone)>;
  // Brings a lost stored result back by running what made it again; false, with the reason in
  // `why_not`, when it cannot. `lost_address`: the worker whose copy could not be had.
  using Rebuild = std::function<bool(const std::string& lost_address, std::string* why_not)>;
  // Tells the worker at `address` that no reference to its stored object `id` remains.
  using Freer = std::function<void(const std::string& address, const std::string& id)>;
  // Watches the process at `borrower` until it holds no reference to `id`: `done(true)` then,
  // `done(false)` when it cannot be reached (it died); never once this process shuts down.
  // `outers`: the call results the reference reaches it in (see WhenReleased).
  using BorrowerWatcher = std::function<void(const std::string& id, const std::string& borrower,
                                             const std::vector<std::string>& outers,
                                             std::function<void(bool released)> done)>;
  // Tells `owner` that the process at `borrower` holds `id` (reaching it in the call result
  // `outer`, if not empty); `done` runs once it has answered.
  using BorrowerReporter =
      std::function<void(const std::string& owner, const std::string& id,
                         const std::string& borrower, const std::string& outer, Callback done)>;
  // How the table reaches other processes.
  struct Io {
    Fetcher fetch;
    OwnerAsker ask_owner;
    Freer free;
    BorrowerWatcher watch_borrower;
    BorrowerReporter report_borrower;
  };
  using Ids = google::protobuf::RepeatedPtrField<std::string>;

  explicit ObjectTable(Io io) : io_(std::move(io)) {}
  ~ObjectTable();

  // `hook` runs (without the lock) each time an entry goes. Set it before the table is used.
  void set_on_erased(Callback hook) { on_erased_ = std::move(hook); }

  static std::string NewId();

  // Where owners of this process's objects answer borrowers (this process's OwnerService).
  void set_own_address(std::string address);

  // A new object of this process; `held`: its first ObjectRef adopts one hold counted here.
  void AddPending(const std::string& id, bool held = false);
  // A reference owned by the process at `owner` (empty: by this one), not yet resolved here.
  // True when this process owns the object (its entry's state is left alone).
  bool AddBorrowed(const std::string& id, const std::string& owner);
  void SetValue(const std::string& id, std::string bytes);
  void SetValue(const std::string& id, Bytes bytes);
  void SetError(const std::string& id, proto::RemoteError error);
  void SetLocation(const std::string& id, proto::ObjectLocation location);
  // What a call's result (or an owner's answer) says: a value, a location or an error (moved
  // out of `result`), and whether the value holds references.
  void SetResult(const std::string& id, proto::CallResult& result);
  // The result of a call this process made (and owns): as SetResult, and a stored result
  // nobody here holds any more is freed at once. `rebuild` brings a stored result back if its
  // bytes are lost.
  void SetCallResult(const std::string& id, proto::CallResult& result, Rebuild rebuild);
  // The bytes of a located object cannot be had from worker `lost_at` (empty: from wherever
  // it is located): it is rebuilt (owned), asked of its owner (borrowed), or fails as
  // FAILURE_OBJECT_LOST, with `why` in the message. True while it will resolve again; false
  // when it failed, or is not located (here, failed, pending, or unknown).
  bool Lost(const std::string& id, const std::string& lost_at, const std::string& why);
  // Why a pending object is not done yet; added to Get's timeout message.
  void SetNote(const std::string& id, std::string note);

  // What keeps objects (object_table_references.cc): holds, passing on, borrowers.
  // One more local handle (ObjectRef) to the object / one fewer. The entry goes when the last
  // handle goes, unless it was passed on from here.
  void Hold(const std::string& id);
  void Release(const std::string& id);
  // The same for a call that takes or lends the object (counted apart, for inspection).
  void HoldForCall(const std::string& id);
  void ReleaseCall(const std::string& id);
  // The same for an object whose value holds the reference, or a reference taken out of the
  // object's value (counted apart: "kept").
  void HoldInside(const std::string& id);
  void ReleaseInside(const std::string& id);
  // The references inside Put object `id`'s value (its holds on them), kept while it lives.
  void SetInside(const std::string& id, std::vector<std::shared_ptr<const std::string>> inside);
  // The borrowed reference `id` was taken out of the value of object `outer`, held here: this
  // process tells its owner that it holds it (once per entry), holding `outer` until the owner
  // has answered. Nothing to do when `outer` is owned here (it holds what its value holds).
  void Register(const std::string& id, const std::string& outer);
  // A reference inside the value of `outer`, which a call lends: one call hold, on an entry that
  // knows its owner (and Register). Nothing of its old wire form is applied.
  // False, with nothing held, when this process owns the object and it is gone.
  bool LendInside(const std::string& id, const std::string& owner, const std::string& outer);
  // A callee: the references inside its result `outer`, held here as `inside` (their owners in
  // `owners`), go to the caller at `caller`: their owners are told that it borrows them (for
  // those owned here, it is counted at once), then `done` runs, then the holds go.
  void HandOver(const std::string& outer, const std::string& caller,
                std::vector<std::shared_ptr<const std::string>> inside,
                const std::vector<std::string>& owners, Callback done);
  // What holds each of `ids` that this process owns (others are left out).
  void References(const Ids& ids, google::protobuf::RepeatedPtrField<proto::ReferenceCounts>* out);
  // The object is referenced from elsewhere (passed on): the owner to name in its wire form.
  // `held`: for a call or inside an object's value (see PackedRefs), which holds it as long
  // as needed. Otherwise, a pending or stored object (or one whose value holds references) is
  // kept from now on for the life of this process, for whoever received it.
  std::string PassOn(const std::string& id, bool held);

  // The process at `borrower` (a callee) still holds these references, which a call lent it.
  // Owned ones are kept until it lets go of them (or dies); for borrowed ones, their owners
  // are told, and this process keeps its own reference until they have answered. `outer`: the
  // call result they reach the borrower in (see WhenReleased), or empty.
  void AddBorrowers(const std::string& borrower, const Ids& ids, const std::string& outer = "");
  // Of `ids`, those this process holds and does not own (it is their borrower), into `out`.
  void StillBorrowed(const Ids& ids, Ids* out);
  // `callback` runs once this process holds no reference to `id` (at once if it holds none).
  // `outers`: call results of this process that carry the reference (refs_inside); while one
  // is unfinished, the reference may still come: it is looked for once they are all in.
  // `caller`, when given, is the waiting call's: once it has expired (the caller went away),
  // the wait is dropped as the next one comes, instead of staying until the release.
  void WhenReleased(const std::string& id, const std::vector<std::string>& outers,
                    Callback callback, std::optional<std::weak_ptr<const void>> caller = {});
  // The WhenReleased waits `id` keeps, once those of callers gone are dropped (for stats and
  // tests).
  size_t ReleaseWaits(const std::string& id);

  bool Contains(const std::string& id);
  // True while this process owns an object that it passed on or that a borrower holds, passed
  // on outside a call a reference it borrows (see PassOn), or has calls in flight that take or
  // lend one: its exit would lose them.
  bool KeepsPassedOn();
  bool Ready(const std::string& id);
  // Here or located (or unknown): enough to pass it as an argument.
  bool Resolved(const std::string& id, bool* failed = nullptr);
  // Pending, and owned by this process (the result of a call it made that has not ended).
  bool OwnedPending(const std::string& id);
  // Enough to pass it as an argument by value: resolved, and here if its value holds
  // references (the call lends them: see wire_args.cc) or its bytes are not in a worker's
  // store (a Put value mapped from its owner's node: the callee could not look it up).
  bool ReadyToSend(const std::string& id);
  // `callback` runs once the value or error is here (fetching a located object first).
  void WhenReady(const std::string& id, Callback callback);
  // `callback` runs once the object is here or located: enough to pass it as an argument.
  // Returns the wait's key for Withdraw while it waits; 0 when `callback` ran at once.
  uint64_t WhenResolved(const std::string& id, Callback callback);
  // Takes out the WhenResolved wait `key` of `id` (its caller gave up): its callback never
  // runs, and goes at once. The entry goes too if nothing else needs it. Nothing happens when
  // the callback ran (or runs) already.
  void Withdraw(const std::string& id, uint64_t key);
  // The WhenResolved waits `id` keeps (for tests).
  size_t ResolveWaits(const std::string& id);

  // Waits for the value. Throws weft::Error (NOT_FOUND, DEADLINE_EXCEEDED, FAILED_PRECONDITION
  // on an async actor's loop) or weft::RemoteError.
  Bytes Get(const std::string& id, const std::chrono::milliseconds* timeout);
  // Waits for every value, in order; throws as soon as any of them failed (as ray.get does),
  // without waiting for the rest.
  std::vector<Bytes> GetAll(absl::Span<const std::string> ids,
                            const std::chrono::milliseconds* timeout);

  // A resolved object as it stands: exactly one of value, error or location is set.
  struct Snapshot {
    Bytes value;
    std::unique_ptr<proto::RemoteError> error;
    std::unique_ptr<proto::ObjectLocation> location;
    bool nested = false;  // the value holds references
    // With a large value: where a worker stores it too (it was fetched or mapped from there).
    // Passed on as that location, it is not copied.
    std::unique_ptr<proto::ObjectLocation> stored_at;
  };
  Snapshot Take(const std::string& id);

  size_t size();

 private:
  enum class State { kPending, kLocated, kFetching, kHere, kFailed };
  struct Borrower {
    std::string address;
    std::vector<std::string> outers;  // call results it receives the reference in
    bool again = false;  // reported again while watched: watch once more when the watch ends
  };
  struct Entry {
    State state = State::kPending;
    Bytes value;
    proto::RemoteError error;
    proto::ObjectLocation location;
    std::string note;
    std::string owner;        // a borrowed object's owner; empty when this process owns it
    std::string stored_at;    // owned: the worker storing its bytes (freed there at the end)
    Rebuild rebuild;          // owned and located: how it comes back if its bytes are lost
    std::string lost_at;      // borrowed: the worker whose copy failed, for the owner to know
    bool owned = false;       // made here (a call's result or a Put)
    int holders = 0;          // local ObjectRefs
    int call_holds = 0;       // unfinished calls (and kept lineages) that take or lend it
    bool passed_on = false;   // passed on unheld (constructor args) while unresolved or stored
    bool nested = false;      // its value holds references
    int kept_by = 0;          // objects whose values hold it (their `inside`)
    bool registered = false;  // borrowed: this process told its owner it holds it (Register)
    std::vector<std::shared_ptr<const std::string>> inside;  // the references in its value
    std::vector<Borrower> borrowers;  // owned: processes that hold it (their calls said so)
    bool wanted = false;              // someone here waits for the value: fetch it once located
    bool asking_owner = false;        // a watch of it at the owner is open
    std::vector<Callback> on_ready;
    std::map<uint64_t, Callback> on_resolved;  // by key (see Withdraw), oldest first
    // Borrowed: the owner's watches, answered when it goes.
    std::vector<std::pair<Callback, std::optional<std::weak_ptr<const void>>>> on_released;
  };
  static bool Done(const Entry& entry) {
    return entry.state == State::kHere || entry.state == State::kFailed;
  }
  // Nothing here needs the entry any more.
  static bool Unused(const Entry& entry) {
    return entry.holders <= 0 && entry.call_holds <= 0 && entry.kept_by <= 0 && !entry.passed_on &&
           entry.borrowers.empty() && entry.on_ready.empty() && entry.on_resolved.empty();
  }
  using Entries = absl::flat_hash_map<std::string, Entry>;
  // What a finished or erased entry leaves to do once the lock is released: free its stored
  // bytes, answer the watches of its owner, and drop its lineage (which holds references:
  // releasing them takes the lock).
  struct Dropped {
    std::string free_at;  // the worker to free the stored bytes at ("" for none)
    Rebuild rebuild;
    std::vector<Callback> released;
    std::vector<std::shared_ptr<const std::string>> inside;
    Bytes value;  // its last copy may unmap (and remove) a file: after the lock
    bool erased = false;
  };
  Dropped EraseLocked(Entries::iterator it);
  // Drops the WhenReleased waits whose callers went away.
  static void DropAbandonedLocked(Entry& entry);
  // A call's result whose value holds references (refs_inside): the object holds them (the
  // callee told their owners that this process borrows them).
  void AdoptInside(const std::string& outer, const proto::CallResult& result);
  // Register's work under the lock: true when the owner must be told (`outer` is then held).
  bool RegisterLocked(const std::string& id, Entry& entry, const std::string& outer);
  void Report(const std::string& id, const std::string& owner, const std::string& outer);
  // A callee hands this process's own objects back inside the result `outer`, still on its
  // way: they are held until it is in (AdoptInside then holds them).
  void HoldUntilResolved(const Ids& ids, const std::string& outer);
  // A handle that gives back one `kept_by` of `id` when its last copy goes (the hold is
  // counted by the caller).
  std::shared_ptr<const std::string> InsideHold(const std::string& id);
  // One hold fewer of the kind `count`; the entry goes if nothing else needs it.
  void Unhold(const std::string& id, int Entry::*count);
  // Does what `dropped` leaves to do; call without the lock.
  void AfterUnlock(const std::string& id, Dropped& dropped);
  void FreeAt(const std::string& address, const std::string& id) const;
  void WatchBorrower(const std::string& id, const Borrower& borrower);
  // The watch of `borrower` ended: it let go of `id` (`released`) or is gone.
  void OnBorrowerDone(const std::string& id, const std::string& borrower, bool released);
  proto::RemoteError LostError(const std::string& id, const Entry& entry,
                               const std::string& why) const;
  // Adds `callback` to the entry's on_resolved; returns its key.
  uint64_t OnResolvedLocked(Entry& entry, Callback callback);
  // Takes the entry's on_resolved out, in order.
  static std::vector<Callback> TakeResolvedLocked(Entry& entry);
  // Finishes an entry (value or error) and returns the callbacks to run.
  std::vector<Callback> Finish(Entry& entry);
  // Notes that the value is wanted here; what to start after unlocking.
  struct Start {
    bool fetch = false;
    bool ask_owner = false;
  };
  Start WantLocked(const std::string& id, Entry& entry, bool value);
  // SetLocation; false when no entry has the id.
  bool SetLocationOf(const std::string& id, proto::ObjectLocation location);
  void Begin(const std::string& id, Start start);
  // Starts fetching a located entry, if nobody has; call without the lock.
  void MaybeFetch(const std::string& id);
  void AskOwner(const std::string& id);
  void OnOwnerAnswer(const std::string& id, const std::string& owner,
                     absl::StatusOr<proto::CallResult> answer);
  [[noreturn]] void ThrowNotAvailable(const std::string& id, const Entry& entry,
                                      const std::chrono::milliseconds* timeout);

  const Io io_;
  Callback on_erased_;
  std::mutex mu_;
  std::condition_variable changed_;
  std::string own_address_;
  uint64_t failures_ = 0;  // objects failed so far: waits of many rescan only after one
  uint64_t last_key_ = 0;  // of the on_resolved callbacks
  Entries entries_;
};

}  // namespace weft::internal
