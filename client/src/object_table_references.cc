// ObjectTable, what keeps each object: this process's holds (ObjectRefs, calls), references
// passed on, and the borrowers its owned objects have elsewhere (see object_table.h, Lifetime).

#include <algorithm>
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
  if (it == entries_.end()) return;  // the holds go with `inside`
  it->second.nested = true;
  it->second.inside = std::move(inside);
}

void ObjectTable::Pin(const std::string& id, const std::string& outer) {
  std::lock_guard lock(mu_);
  if (auto it = entries_.find(id); it != entries_.end()) PinLocked(it->second, outer);
}

void ObjectTable::PinLocked(Entry& entry, const std::string& outer) {
  if (entry.owned || !entry.pinned.empty()) return;
  auto container = entries_.find(outer);
  // An object owned here holds the references in its value itself (a Put's or a result's
  // `inside`): a pin would hold it back in turn, and neither would ever go.
  if (container == entries_.end() || container->second.owned) return;
  entry.pinned = outer;
  ++container->second.kept_by;
}

std::shared_ptr<const std::string> ObjectTable::InsideHold(const std::string& id) {
  return std::shared_ptr<const std::string>(new std::string(id), [this](const std::string* held) {
    ReleaseInside(*held);
    delete held;
  });
}

void ObjectTable::LendInside(const std::string& id, const std::string& owner,
                             const std::string& outer) {
  std::lock_guard lock(mu_);
  Entry& entry = entries_[id];
  if (!entry.owned && entry.owner.empty() && owner != own_address_) entry.owner = owner;
  ++entry.call_holds;
  PinLocked(entry, outer);
}

void ObjectTable::AdoptInside(const std::string& outer, const proto::CallResult& result) {
  std::vector<std::shared_ptr<const std::string>> inside;
  std::vector<std::pair<std::string, std::string>> report;  // owner, id
  {
    std::lock_guard lock(mu_);
    if (!entries_.contains(outer)) return;  // nobody holds the result: the callee lets go
    for (const auto& ref : result.refs_inside()) {
      const std::string& id = ref.object_id();
      const bool ours = ref.owner_address().empty() || ref.owner_address() == own_address_;
      auto it = entries_.find(id);
      if (it == entries_.end()) {
        if (ours) continue;  // gone here: nobody can hold it any more
        it = entries_.try_emplace(id).first;
        it->second.owner = ref.owner_address();
      }
      Entry& entry = it->second;
      ++entry.kept_by;
      inside.push_back(InsideHold(id));
      if (!entry.owned && !entry.owner.empty()) report.emplace_back(entry.owner, id);
    }
    Entry& container = entries_.find(outer)->second;  // found again: entries may have moved
    container.nested = true;
    container.call_holds += static_cast<int>(report.size());  // until the owners answer
    for (auto& hold : inside) container.inside.push_back(std::move(hold));
  }
  // From now on this process is counted as a borrower: the callee may let go.
  for (const auto& [owner, id] : report) {
    io_.report_borrower(owner, id, own_address_, [this, outer] { ReleaseCall(outer); });
  }
}

void ObjectTable::KeepWhileHeld(const std::string& outer, const std::string& owner,
                                std::vector<std::shared_ptr<const std::string>> inside) {
  if (inside.empty()) return;
  // The holds go when the watch ends: the object went at its owner, or the owner died.
  io_.watch_borrower(outer, owner, [inside = std::move(inside)](bool) {});
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
  // needs its owner later, as does one whose value holds references (it travels as a
  // reference), and a located one needs its stored bytes: passed on without a hold, all are
  // kept from now on (a borrower's entry too: it is reported as borrowed to its owner's watch,
  // which then lasts as long as this process).
  const bool needs_owner = entry.state == State::kPending || entry.state == State::kLocated ||
                           entry.state == State::kFetching ||
                           (entry.nested && entry.state == State::kHere);
  if (!held && needs_owner) entry.passed_on = true;
  return entry.owner.empty() ? own_address_ : entry.owner;
}

void ObjectTable::AddBorrowers(const std::string& borrower, const Ids& ids) {
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
      if (known != entry.borrowers.end()) {
        known->again = true;  // its watch may have been answered before this call's result
      } else {
        entry.borrowers.push_back({borrower, false});
        watch.push_back(id);
      }
    }
  }
  for (const auto& id : watch) WatchBorrower(id, borrower);
  for (const auto& [owner, id] : report) {
    io_.report_borrower(owner, id, borrower, [this, id] { ReleaseCall(id); });
  }
}

void ObjectTable::WatchBorrower(const std::string& id, const std::string& borrower) {
  io_.watch_borrower(id, borrower, [this, id, borrower](bool released) {
    OnBorrowerDone(id, borrower, released);
  });
}

void ObjectTable::OnBorrowerDone(const std::string& id, const std::string& borrower,
                                 bool released) {
  Dropped dropped;
  bool watch_again = false;
  {
    std::lock_guard lock(mu_);
    auto it = entries_.find(id);
    if (it == entries_.end()) return;
    auto& borrowers = it->second.borrowers;
    auto known = std::find_if(borrowers.begin(), borrowers.end(),
                              [&](const Borrower& b) { return b.address == borrower; });
    if (known == borrowers.end()) return;
    // Released, but it said it held the reference again since: its answer may predate that.
    watch_again = released && std::exchange(known->again, false);
    if (!watch_again) {
      borrowers.erase(known);
      if (Unused(it->second)) dropped = EraseLocked(it);
    }
  }
  if (watch_again) return WatchBorrower(id, borrower);
  AfterUnlock(id, dropped);
}

void ObjectTable::StillBorrowed(const Ids& ids, Ids* out) {
  std::lock_guard lock(mu_);
  for (const auto& id : ids) {
    auto it = entries_.find(id);
    if (it != entries_.end() && !it->second.owner.empty()) *out->Add() = id;
  }
}

void ObjectTable::WhenReleased(const std::string& id, Callback callback) {
  {
    std::lock_guard lock(mu_);
    auto it = entries_.find(id);
    if (it != entries_.end()) {
      it->second.on_released.push_back(std::move(callback));
      return;
    }
  }
  callback();
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
