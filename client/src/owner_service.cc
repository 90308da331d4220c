#include "client/src/owner_service.h"

#include <grpcpp/alarm.h>
#include <algorithm>

#include <chrono>
#include <mutex>

#include "absl/strings/str_cat.h"
#include "common/rpc.h"
#include "common/status.h"

namespace weft::internal {
namespace {

// One WaitObject (or WaitReleased) call. Whichever comes first finishes it: the object
// resolving, the poll running out, or the caller going away (deadline, disconnect). The last
// two also take a WaitObject's wait out of the object table (Withdraws): a borrower that gives
// up, or asks again after an answer of "not yet", leaves nothing behind here. The reactor (and
// the reply) live until OnDone.
class WaitReactor final : public grpc::ServerUnaryReactor {
 public:
  struct Shared {
    std::mutex mu;
    WaitReactor* reactor;  // null once finishing
  };

  WaitReactor() : shared_(std::make_shared<Shared>()) { shared_->reactor = this; }

  const std::shared_ptr<Shared>& shared() const { return shared_; }

  // The call's wait for `id` in `objects`, under `key` (ObjectTable::WhenResolved). Set it
  // before FinishEmptyAfter, and before the handler returns the reactor.
  void Withdraws(ObjectTable& objects, std::string id, uint64_t key) {
    objects_ = &objects;
    id_ = std::move(id);
    key_ = key;
  }

  // Finishes with an empty reply (no outcome) after `poll`, unless finished before.
  void FinishEmptyAfter(std::chrono::milliseconds poll) {
    alarm_.Set(std::chrono::system_clock::now() + poll, [shared = shared_](bool fired) {
      if (!fired) return;  // finished first: the alarm went with the reactor
      if (WaitReactor* self = Claim(shared)) self->FinishUnanswered(grpc::Status::OK);
    });
  }

  // The reactor, if nobody has claimed the right to finish it yet.
  static WaitReactor* Claim(const std::shared_ptr<Shared>& shared) {
    std::lock_guard lock(shared->mu);
    return std::exchange(shared->reactor, nullptr);
  }

  void OnCancel() override {
    if (auto* self = Claim(shared_)) self->FinishUnanswered(grpc::Status::CANCELLED);
  }
  void OnDone() override { delete this; }

 private:
  // Claimed, before the object resolved: nothing waits for it on this call's behalf any more.
  void FinishUnanswered(const grpc::Status& status) {
    if (objects_) objects_->Withdraw(id_, key_);  // before Finish: the reactor may go after it
    Finish(status);
  }

  std::shared_ptr<Shared> shared_;
  grpc::Alarm alarm_;
  ObjectTable* objects_ = nullptr;
  std::string id_;
  uint64_t key_ = 0;
};

}  // namespace

grpc::ServerUnaryReactor* OwnerService::WaitObject(grpc::CallbackServerContext* ctx,
                                                   const proto::WaitObjectRequest* req,
                                                   proto::CallResult* rep) {
  if (auto* r = auth_.Reject(ctx)) return r;
  const std::string id = req->object_id();
  if (!objects_.Contains(id)) {
    return FinishWith(ctx, absl::NotFoundError(absl::StrCat(
                               "object ", id, " is not known to its owner (freed or never made)")));
  }
  if (!req->lost_at().empty()) {  // a borrower found its copy gone: rebuild it first
    objects_.Lost(id, req->lost_at(),
                  absl::StrCat("a borrower at ", ctx->peer(), " could not fetch it"));
  }
  auto* reactor = new WaitReactor();
  // Where the borrower can map a large value, if it can (see below).
  const bool asked_again = !req->lost_at().empty();  // it could not: the value itself then
  std::vector<std::string> local_nodes(req->local_nodes().begin(), req->local_nodes().end());
  const uint64_t key =
      objects_.WhenResolved(id, [this, id, rep, asked_again, local_nodes = std::move(local_nodes),
                                 shared = reactor->shared()] {
        WaitReactor* self = WaitReactor::Claim(shared);
        if (!self) return;  // the caller is gone
        auto snapshot = objects_.Take(id);
        rep->set_has_refs(snapshot.nested);
        const bool large = snapshot.value && snapshot.value->size() > kInlineValueBytes;
        if (large && !asked_again && snapshot.stored_at &&
            CheckStoredCopy(shared_.objects_dir(), id, *snapshot.stored_at) != StoredCopy::kGone) {
          *rep->mutable_stored() = *snapshot.stored_at;  // fetched (or mapped) from a store
        } else if (auto put = large && !asked_again && snapshot.value->shared()
                                  ? shared_.Find(id, static_cast<int64_t>(snapshot.value->size()),
                                                 local_nodes)
                                  : std::nullopt) {
          *rep->mutable_stored() = *put;  // a Put value in the shared memory of the borrower's node
        } else if (snapshot.value) {
          rep->set_value(snapshot.value->data(), snapshot.value->size());
        } else if (snapshot.location) {
          *rep->mutable_stored() = *snapshot.location;
        } else {
          *rep->mutable_error() = *snapshot.error;
        }
        self->Finish(grpc::Status::OK);
      });
  if (key == 0) return reactor;  // resolved already: answered
  reactor->Withdraws(objects_, id, key);
  reactor->FinishEmptyAfter(PollOf(*req));
  return reactor;
}

// A poll of 0 or less (0 once meant "as long as the call lasts") or longer than max_poll_ gets
// max_poll_ rather than INVALID_ARGUMENT: an answer of "not yet" makes any borrower ask again
// (ObjectTable::OnOwnerAnswer) where an error would fail its object, and no call parks here
// for longer than the bound, whatever its deadline. Borrowers ask for 30 s (runtime.cc).
std::chrono::milliseconds OwnerService::PollOf(const proto::WaitObjectRequest& req) const {
  const std::chrono::milliseconds asked(req.poll_ms());
  return asked.count() <= 0 ? max_poll_ : std::min(asked, max_poll_);
}

grpc::ServerUnaryReactor* OwnerService::WaitReleased(grpc::CallbackServerContext* ctx,
                                                     const proto::WaitReleasedRequest* req,
                                                     proto::WaitReleasedReply*) {
  if (auto* r = auth_.Reject(ctx)) return r;
  auto* reactor = new WaitReactor();
  const std::vector<std::string> outers(req->outer_ids().begin(), req->outer_ids().end());
  // The wait holds the call weakly: a caller that goes away (OnCancel, then OnDone) leaves an
  // expired wait, dropped as the next one comes.
  std::weak_ptr<WaitReactor::Shared> call = reactor->shared();
  objects_.WhenReleased(
      req->object_id(), outers,
      [call] {
        if (auto shared = call.lock()) {
          if (WaitReactor* self = WaitReactor::Claim(shared)) self->Finish(grpc::Status::OK);
        }
      },
      std::weak_ptr<const void>(call));
  return reactor;
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
