#include "client/src/owner_service.h"

#include <algorithm>

#include <chrono>
#include <mutex>

#include "absl/strings/str_cat.h"
#include "common/rpc.h"
#include "common/status.h"

namespace weft::internal {
namespace {

// A watch's answer, given once by whichever comes first: the object resolving (or released),
// its poll running out, or its caller taking the watch out (no answer then).
template <class Finish>
struct Claimable {
  std::mutex mu;
  Finish finish;      // empty once claimed
  uint64_t poll = 0;  // the poll's timer

  Finish Claim() {
    std::lock_guard lock(mu);
    return std::exchange(finish, nullptr);
  }
  uint64_t poll_timer() {
    std::lock_guard lock(mu);
    return poll;
  }
};

}  // namespace

grpc::ServerBidiReactor<proto::ObjectWatches, proto::ObjectWatchAnswers>*
OwnerService::WatchObjects(grpc::CallbackServerContext* ctx) {
  return ObjectWatches::Serve(auth_, ctx,
                              [this, peer = ctx->peer()](const proto::WaitObjectRequest& req,
                                                         ObjectWatches::Respond finish) {
                                return WatchObject(req, peer, std::move(finish));
                              });
}

OwnerService::ObjectWatches::Withdraw OwnerService::WatchObject(const proto::WaitObjectRequest& req,
                                                                const std::string& peer,
                                                                ObjectWatches::Respond finish) {
  const std::string id = req.object_id();
  if (!objects_.Contains(id)) {
    finish(absl::NotFoundError(
               absl::StrCat("object ", id, " is not known to its owner (freed or never made)")),
           proto::CallResult());
    return nullptr;
  }
  if (!req.lost_at().empty()) {  // a borrower found its copy gone: rebuild it first
    objects_.Lost(id, req.lost_at(), absl::StrCat("a borrower at ", peer, " could not fetch it"));
  }
  auto wait = std::make_shared<Claimable<ObjectWatches::Respond>>();
  wait->finish = std::move(finish);
  // Where the borrower can map a large value, if it can (see AnswerOf).
  const bool asked_again = !req.lost_at().empty();  // it could not: the value itself then
  std::vector<std::string> local_nodes(req.local_nodes().begin(), req.local_nodes().end());
  const uint64_t key = objects_.WhenResolved(
      id, [this, id, asked_again, local_nodes = std::move(local_nodes), wait] {
        auto finish = wait->Claim();
        if (!finish) return;  // the caller took it out, or its poll ran out
        timers_.Cancel(wait->poll_timer());
        finish(absl::OkStatus(), AnswerOf(id, asked_again, local_nodes));
      });
  if (key == 0) return nullptr;  // resolved already: answered
  // Claimed, before the object resolved: nothing waits for it on this watch's behalf any more.
  std::weak_ptr<Claimable<ObjectWatches::Respond>> weak = wait;
  const uint64_t poll =
      timers_.At(std::chrono::steady_clock::now() + PollOf(req), [this, weak, id, key] {
        auto wait = weak.lock();
        auto finish = wait ? wait->Claim() : nullptr;
        if (!finish) return;
        objects_.Withdraw(id, key);
        finish(absl::OkStatus(), proto::CallResult());  // not yet: asked again
      });
  {
    std::lock_guard lock(wait->mu);
    wait->poll = poll;
  }
  return [this, wait, id, key] {
    if (!wait->Claim()) return;
    timers_.Cancel(wait->poll_timer());
    objects_.Withdraw(id, key);
  };
}

proto::CallResult OwnerService::AnswerOf(const std::string& id, bool asked_again,
                                         const std::vector<std::string>& local_nodes) {
  proto::CallResult rep;
  auto snapshot = objects_.Take(id);
  rep.set_has_refs(snapshot.nested);
  const bool large = snapshot.value && snapshot.value->size() > kInlineValueBytes;
  if (large && !asked_again && snapshot.stored_at &&
      CheckStoredCopy(shared_.objects_dir(), id, *snapshot.stored_at) != StoredCopy::kGone) {
    *rep.mutable_stored() = *snapshot.stored_at;  // fetched (or mapped) from a store
  } else if (auto put =
                 large && !asked_again && snapshot.value->shared()
                     ? shared_.Find(id, static_cast<int64_t>(snapshot.value->size()), local_nodes)
                     : std::nullopt) {
    *rep.mutable_stored() = *put;  // a Put value in the shared memory of the borrower's node
  } else if (snapshot.value) {
    rep.set_value(snapshot.value->data(), snapshot.value->size());
  } else if (snapshot.location) {
    *rep.mutable_stored() = *snapshot.location;
  } else {
    *rep.mutable_error() = *snapshot.error;
  }
  return rep;
}

// A poll of 0 or less (0 once meant "as long as the call lasts") or longer than max_poll_ gets
// max_poll_ rather than INVALID_ARGUMENT: an answer of "not yet" makes any borrower ask again
// (ObjectTable::OnOwnerAnswer) where an error would fail its object, and no watch parks here
// for longer than the bound. Borrowers ask for 30 s (runtime.cc).
std::chrono::milliseconds OwnerService::PollOf(const proto::WaitObjectRequest& req) const {
  const std::chrono::milliseconds asked(req.poll_ms());
  return asked.count() <= 0 ? max_poll_ : std::min(asked, max_poll_);
}

grpc::ServerBidiReactor<proto::ReleaseWatches, proto::ReleaseWatchAnswers>*
OwnerService::WatchReleases(grpc::CallbackServerContext* ctx) {
  return ReleaseWatches::Serve(
      auth_, ctx,
      [this](const proto::WaitReleasedRequest& req,
             ReleaseWatches::Respond finish) -> ReleaseWatches::Withdraw {
        auto wait = std::make_shared<Claimable<ReleaseWatches::Respond>>();
        wait->finish = std::move(finish);
        const std::vector<std::string> outers(req.outer_ids().begin(), req.outer_ids().end());
        // The table holds the watch weakly: one taken out leaves an expired wait there, dropped
        // as the next one comes.
        std::weak_ptr<Claimable<ReleaseWatches::Respond>> weak = wait;
        objects_.WhenReleased(
            req.object_id(), outers,
            [weak] {
              auto wait = weak.lock();
              if (auto finish = wait ? wait->Claim() : nullptr) {
                finish(absl::OkStatus(), proto::WaitReleasedReply());
              }
            },
            std::weak_ptr<const void>(wait));
        return [wait] { wait->Claim(); };  // holds it until answered or taken out
      });
}

grpc::ServerUnaryReactor* OwnerService::AddBorrower(grpc::CallbackServerContext* ctx,
                                                    const proto::AddBorrowerRequest* req,
                                                    proto::AddBorrowerReply*) {
  if (auto* r = auth_.Reject(ctx)) return r;
  if (!objects_.Contains(req->object_id())) {
    return FinishWith(ctx, absl::NotFoundError(absl::StrCat("object ", req->object_id(),
                                                            " is not known to its owner")));
  }
  ObjectTable::Ids ids;
  *ids.Add() = req->object_id();
  objects_.AddBorrowers(req->borrower(), ids, req->outer_id());
  return FinishWith(ctx, absl::OkStatus());
}

grpc::ServerUnaryReactor* OwnerService::GetReferences(grpc::CallbackServerContext* ctx,
                                                      const proto::GetReferencesRequest* req,
                                                      proto::GetReferencesReply* rep) {
  if (auto* r = auth_.Reject(ctx)) return r;
  objects_.References(req->object_ids(), rep->mutable_references());
  return FinishWith(ctx, absl::OkStatus());
}

}  // namespace weft::internal
