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

// One WaitObject call. The object may resolve after the caller gave up: whichever of the two
// comes first finishes the call; the reactor (and the reply) live until OnDone.
class WaitReactor final : public grpc::ServerUnaryReactor {
 public:
  struct Shared {
    std::mutex mu;
    WaitReactor* reactor;  // null once finishing
  };

  WaitReactor() : shared_(std::make_shared<Shared>()) { shared_->reactor = this; }

  const std::shared_ptr<Shared>& shared() const { return shared_; }

  // Finishes with an empty reply (no outcome) after `poll`, unless finished before.
  void FinishEmptyAfter(std::chrono::milliseconds poll) {
    alarm_.Set(std::chrono::system_clock::now() + poll, [shared = shared_](bool fired) {
      if (!fired) return;  // finished first: the alarm went with the reactor
      if (WaitReactor* self = Claim(shared)) self->Finish(grpc::Status::OK);
    });
  }

  // The reactor, if nobody has claimed the right to finish it yet.
  static WaitReactor* Claim(const std::shared_ptr<Shared>& shared) {
    std::lock_guard lock(shared->mu);
    return std::exchange(shared->reactor, nullptr);
  }

  void OnCancel() override {
    if (auto* self = Claim(shared_)) self->Finish(grpc::Status::CANCELLED);
  }
  void OnDone() override { delete this; }

 private:
  std::shared_ptr<Shared> shared_;
  grpc::Alarm alarm_;
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
  if (req->poll_ms() > 0) reactor->FinishEmptyAfter(std::chrono::milliseconds(req->poll_ms()));
  std::vector<std::string> local_nodes(req->local_nodes().begin(), req->local_nodes().end());
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
    } else if (auto put =
                   large && !asked_again && snapshot.value->shared()
                       ? shared_.Find(id, static_cast<int64_t>(snapshot.value->size()), local_nodes)
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
  return reactor;
}

grpc::ServerUnaryReactor* OwnerService::WaitReleased(grpc::CallbackServerContext* ctx,
                                                     const proto::WaitReleasedRequest* req,
                                                     proto::WaitReleasedReply*) {
  if (auto* r = auth_.Reject(ctx)) return r;
  auto* reactor = new WaitReactor();
  const std::vector<std::string> outers(req->outer_ids().begin(), req->outer_ids().end());
  objects_.WhenReleased(req->object_id(), outers, [shared = reactor->shared()] {
    if (WaitReactor* self = WaitReactor::Claim(shared)) self->Finish(grpc::Status::OK);
  });
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
