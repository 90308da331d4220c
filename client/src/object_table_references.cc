// ObjectTable, what keeps each object: this process's holds (ObjectRefs, calls), references
// passed on, and the borrowers its owned objects have elsewhere (see object_table.h, Lifetime).

#include <algorithm>
#include <atomic>
#include <optional>
#include <utility>

#include "client/src/object_table.h"

namespace weft::internal {

void ObjectTable::Hold(const std::string& id) {
  std::lock_guard lock(mu_);
  ++entries_[id].holders;
}

void ObjectTable::Release(const std::string& id) { Unhold(id, &Entry::holders); }

void ObjectTable::HoldForCall(const std::string& id) {
  std::lock_guard lock(mu_);
  ++entries_[id].call_holds;
}

void ObjectTable::ReleaseCall(const std::string& id) { Unhold(id, &Entry::call_holds); }

void ObjectTable::HoldInside(const std::string& id) {
  std::lock_guard lock(mu_);
  ++entries_[id].kept_by;
}

void ObjectTable::ReleaseInside(const std::string& id) { Unhold(id, &Entry::kept_by); }

void ObjectTable::SetInside(const std::string& id,
                            std::vector<std::shared_ptr<const std::string>> inside) {
  if (inside.empty()) return;
  std::lock_guard lock(mu_);
  auto it = entries_.find(id);
  if (it == entries_.end()) return;  // the holds go with `inside`, after the lock
  it->second.nested = true;
  std::swap(it->second.inside, inside);  // a Put's new entry: nothing there before
}

std::shared_ptr<const std::string> ObjectTable::InsideHold(const std::string& id) {
  return std::shared_ptr<const std::string>(new std::string(id), [this](const std::string* held) {
    ReleaseInside(*held);
    delete held;
  });
}

bool ObjectTable::RegisterLocked(const std::string& id, Entry& entry, const std::string& outer) {
  if (entry.owned || entry.owner.empty() || entry.registered) return false;
  auto container = entries_.find(outer);
  // An object owned here holds the references in its value itself (`inside`), counted.
  if (container == entries_.end() || container->second.owned) return false;
  entry.registered = true;
  ++container->second.call_holds;  // until the owner answers
  return true;
}

void ObjectTable::Report(const std::string& id, const std::string& owner,
                         const std::string& outer) {
  io_.report_borrower(owner, id, own_address_, "", [this, outer] { ReleaseCall(outer); });
}

void ObjectTable::Register(const std::string& id, const std::string& outer) {
  std::string owner;
  {
    std::lock_guard lock(mu_);
    auto it = entries_.find(id);
    if (it == entries_.end() || !RegisterLocked(id, it->second, outer)) return;
    owner = it->second.owner;
  }
  Report(id, owner, outer);
}

bool ObjectTable::LendInside(const std::string& id, const std::string& owner,
                             const std::string& outer) {
  bool report = false;
  std::string owner_to_tell;
  {
    std::lock_guard lock(mu_);
    auto it = entries_.find(id);
    if (it == entries_.end()) {
      if (owner.empty() || owner == own_address_) return false;  // owned here, and gone
      it = entries_.try_emplace(id).first;
    }
    Entry& entry = it->second;
    if (!entry.owned && entry.owner.empty() && owner != own_address_) entry.owner = owner;
    ++entry.call_holds;
    report = RegisterLocked(id, entry, outer);
    if (report) owner_to_tell = entry.owner;
  }
  if (report) Report(id, owner_to_tell, outer);
  return true;
}

void ObjectTable::AdoptInside(const std::string& outer, const proto::CallResult& result) {
  std::lock_guard lock(mu_);
  if (!entries_.contains(outer)) return;  // nobody holds the result any more
  std::vector<std::shared_ptr<const std::string>> inside;
  for (const auto& ref : result.refs_inside()) {
    const std::string& id = ref.object_id();
    const bool ours = ref.owner_address().empty() || ref.owner_address() == own_address_;
    auto it = entries_.find(id);
    if (it == entries_.end()) {
      if (ours) continue;  // gone here: nobody can hold it any more
      it = entries_.try_emplace(id).first;
    }
    Entry& entry = it->second;
    if (!entry.owned && entry.owner.empty() && !ours) entry.owner = ref.owner_address();
    entry.registered |= !entry.owned;  // the callee told the owner
    ++entry.kept_by;
    inside.push_back(InsideHold(id));
  }
  Entry& container = entries_.find(outer)->second;  // found again: entries may have moved
  container.nested = true;
  for (auto& hold : inside) container.inside.push_back(std::move(hold));
}

void ObjectTable::HandOver(const std::string& outer, const std::string& caller,
                           std::vector<std::shared_ptr<const std::string>> inside,
                           const std::vector<std::string>& owners, Callback done) {
  struct State {
    std::atomic<size_t> left;
    Callback done;
    std::vector<std::shared_ptr<const std::string>> inside;
  };
  auto state = std::make_shared<State>();
  state->left = inside.size() + 1;
  state->done = std::move(done);
  state->inside = inside;
  auto one = [state] {
    if (--state->left > 0) return;
    state->inside.clear();  // the caller is counted: the holds here go before the reply says
    state->done();          // which references this process still borrows (StillBorrowed)
  };
  for (size_t i = 0; i < inside.size(); ++i) {
    const std::string& id = *inside[i];
    const std::string& owner = i < owners.size() ? owners[i] : std::string();
    if (owner.empty() || owner == own_address_) {
      Ids ids;
      *ids.Add() = id;
      AddBorrowers(caller, ids, outer);
      one();
    } else {
      io_.report_borrower(owner, id, caller, outer, one);
    }
  }
  one();
}

void ObjectTable::Unhold(const std::string& id, int Entry::*count) {
  Dropped dropped;
  {
    std::lock_guard lock(mu_);
    auto it = entries_.find(id);
    if (it == entries_.end()) return;
    --(it->second.*count);
    if (!Unused(it->second)) return;  // held, passed on, borrowed or still awaited
    dropped = EraseLocked(it);
  }
  AfterUnlock(id, dropped);
}

void ObjectTable::References(const Ids& ids,
                             google::protobuf::RepeatedPtrField<proto::ReferenceCounts>* out) {
  std::lock_guard lock(mu_);
  for (const auto& id : ids) {
    auto it = entries_.find(id);
    if (it == entries_.end() || !it->second.owner.empty()) continue;
    const Entry& entry = it->second;
    auto& counts = *out->Add();
    counts.set_object_id(id);
    counts.set_local(entry.holders);
    counts.set_calls(entry.call_holds);
    for (const auto& borrower : entry.borrowers) counts.add_borrowers(borrower.address);
    counts.set_kept(entry.passed_on || entry.kept_by > 0);
  }
}

std::string ObjectTable::PassOn(const std::string& id, bool held) {
  std::lock_guard lock(mu_);
  auto it = entries_.find(id);
  if (it == entries_.end()) return own_address_;
  Entry& entry = it->second;
  // The wire form of a resolved object carries its value, location or error. An unresolved one
  // needs its owner later, as does one whose value holds references or is large (it travels as
  // a reference, see EncodeRef), and a located one needs its stored bytes: passed on without a
  // hold, all are kept from now on (a borrower's entry too: it is reported as borrowed to its
  // owner's watch, which then lasts as long as this process).
  const bool large_reference =
      entry.value && entry.value->size() > kInlineValueBytes && entry.value->shared();
  const bool needs_owner = entry.state == State::kPending || entry.state == State::kLocated ||
                           entry.state == State::kFetching ||
                           (entry.state == State::kHere && (entry.nested || large_reference));
  if (!held && needs_owner) entry.passed_on = true;
  return entry.owner.empty() ? own_address_ : entry.owner;
}

void ObjectTable::AddBorrowers(const std::string& borrower, const Ids& ids,
                               const std::string& outer) {
  if (borrower == own_address_) return HoldUntilResolved(ids, outer);
  std::vector<std::string> watch;
  std::vector<std::pair<std::string, std::string>> report;  // owner, id
  {
    std::lock_guard lock(mu_);
    for (const auto& id : ids) {
      auto it = entries_.find(id);
      if (it == entries_.end()) continue;  // not lent by this process
      Entry& entry = it->second;
      if (!entry.owner.empty()) {  // a borrower here: the owner must know the next one
        ++entry.call_holds;        // until it has answered
        report.emplace_back(entry.owner, id);
        continue;
      }
      auto known = std::find_if(entry.borrowers.begin(), entry.borrowers.end(),
                                [&](const Borrower& b) { return b.address == borrower; });
      std::vector<std::string> outers;
      if (!outer.empty()) outers.push_back(outer);
      if (known != entry.borrowers.end()) {
        known->again = true;  // its watch may have been answered before this call's result
        for (auto& o : outers) {
          if (std::find(known->outers.begin(), known->outers.end(), o) == known->outers.end()) {
            known->outers.push_back(std::move(o));
          }
        }
      } else {
        entry.borrowers.push_back({borrower, {}, false});  // outers: those sent with the watch
        watch.push_back(id);
      }
    }
  }
  std::vector<std::string> outers;
  if (!outer.empty()) outers.push_back(outer);
  for (const auto& id : watch) WatchBorrower(id, {borrower, outers, false});
  for (const auto& [owner, id] : report) {
    io_.report_borrower(owner, id, borrower, outer, [this, id = id] { ReleaseCall(id); });
  }
}

void ObjectTable::HoldUntilResolved(const Ids& ids, const std::string& outer) {
  std::lock_guard lock(mu_);
  auto container = outer.empty() ? entries_.end() : entries_.find(outer);
  if (container == entries_.end() || container->second.state != State::kPending) return;
  std::vector<std::string> held;
  for (const auto& id : ids) {
    auto it = entries_.find(id);
    if (it == entries_.end()) continue;
    ++it->second.call_holds;
    held.push_back(id);
  }
  // Found again: entries do not move here, but keep the pattern of AdoptInside.
  OnResolvedLocked(entries_.find(outer)->second, [this, held = std::move(held)] {
    for (const auto& id : held) ReleaseCall(id);
  });
}

void ObjectTable::WatchBorrower(const std::string& id, const Borrower& borrower) {
  io_.watch_borrower(id, borrower.address, borrower.outers,
                     [this, id, address = borrower.address](bool released) {
                       OnBorrowerDone(id, address, released);
                     });
}

void ObjectTable::OnBorrowerDone(const std::string& id, const std::string& borrower,
                                 bool released) {
  Dropped dropped;
  std::optional<Borrower> watch_again;
  {
    std::lock_guard lock(mu_);
    auto it = entries_.find(id);
    if (it == entries_.end()) return;
    auto& borrowers = it->second.borrowers;
    auto known = std::find_if(borrowers.begin(), borrowers.end(),
                              [&](const Borrower& b) { return b.address == borrower; });
    if (known == borrowers.end()) return;
    // Released, but it said it held the reference again since: its answer may predate that.
    if (released && std::exchange(known->again, false)) {
      watch_again = *known;
      known->outers.clear();  // sent with this watch; those added while it runs go with the next
    } else {
      borrowers.erase(known);
      if (Unused(it->second)) dropped = EraseLocked(it);
    }
  }
  if (watch_again) return WatchBorrower(id, *watch_again);
  AfterUnlock(id, dropped);
}

void ObjectTable::StillBorrowed(const Ids& ids, Ids* out) {
  std::lock_guard lock(mu_);
  for (const auto& id : ids) {
    auto it = entries_.find(id);
    if (it != entries_.end() && !it->second.owner.empty()) *out->Add() = id;
  }
}

void ObjectTable::WhenReleased(const std::string& id, const std::vector<std::string>& outers,
                               Callback callback, std::optional<std::weak_ptr<const void>> caller) {
  {
    std::lock_guard lock(mu_);
    // It may still come with the result of a call unfinished here: looked at once that is in.
    for (const auto& outer : outers) {
      auto container = entries_.find(outer);
      if (container == entries_.end() || container->second.state != State::kPending) continue;
      OnResolvedLocked(container->second,
                       [this, id, outers, callback = std::move(callback), caller] {
                         if (caller && caller->expired()) return;  // its caller went away
                         WhenReleased(id, outers, callback, caller);
                       });
      return;
    }
    if (auto it = entries_.find(id); it != entries_.end()) {
      DropAbandonedLocked(it->second);
      it->second.on_released.emplace_back(std::move(callback), std::move(caller));
      return;
    }
  }
  callback();
}

void ObjectTable::DropAbandonedLocked(Entry& entry) {
  std::erase_if(entry.on_released,
                [](const auto& wait) { return wait.second && wait.second->expired(); });
}

size_t ObjectTable::ReleaseWaits(const std::string& id) {
  std::lock_guard lock(mu_);
  auto it = entries_.find(id);
  if (it == entries_.end()) return 0;
  DropAbandonedLocked(it->second);
  return it->second.on_released.size();
}

bool ObjectTable::KeepsPassedOn() {
  std::lock_guard lock(mu_);
  for (const auto& [id, entry] : entries_) {
    if (entry.passed_on || !entry.borrowers.empty() || entry.call_holds > 0 || entry.kept_by > 0) {
      return true;
    }
  }
  return false;
}

}  // namespace weft::internal
