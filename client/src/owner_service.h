#pragma once

#include <chrono>

#include "client/src/object_table.h"
#include "client/src/shared_bytes.h"
#include "common/auth.h"
#include "worker.grpc.pb.h"

namespace weft::internal {

// Answers borrowers of the objects this process owns (see ObjectTable): WaitObject replies once
// the object is resolved here, with its value, its location or its error, or with no outcome
// ("not yet") after its poll_ms, at most `max_poll`. A waiting call holds no thread; it
// finishes when the object resolves, its poll runs out, or the caller cancels or times out,
// and leaves no wait behind in the table.
// Answers owners of the references this process borrows: WaitReleased replies once it holds
// none; and takes AddBorrower from borrowers that handed a reference on.
// Served by drivers (on a server of their own, started by Init) and by workers (on theirs).
class OwnerService final : public proto::Owner::CallbackService {
 public:
  static constexpr std::chrono::milliseconds kMaxPoll = std::chrono::seconds(60);

  // `folder`: where this process keeps its large Put values for its node to map. `max_poll`:
  // the longest one WaitObject call waits before answering "not yet".
  OwnerService(const TokenAuth& auth, ObjectTable& objects, const SharedFolder& folder,
               std::chrono::milliseconds max_poll = kMaxPoll)
      : auth_(auth), objects_(objects), shared_(folder), max_poll_(max_poll) {}

  grpc::ServerUnaryReactor* WaitObject(grpc::CallbackServerContext* ctx,
                                       const proto::WaitObjectRequest* req,
                                       proto::CallResult* rep) override;
  // As a borrower: replies once this process holds no reference to the object.
  grpc::ServerUnaryReactor* WaitReleased(grpc::CallbackServerContext* ctx,
                                         const proto::WaitReleasedRequest* req,
                                         proto::WaitReleasedReply* rep) override;
  // As the owner: a borrower handed the reference on.
  grpc::ServerUnaryReactor* AddBorrower(grpc::CallbackServerContext* ctx,
                                        const proto::AddBorrowerRequest* req,
                                        proto::AddBorrowerReply* rep) override;
  grpc::ServerUnaryReactor* GetReferences(grpc::CallbackServerContext* ctx,
                                          const proto::GetReferencesRequest* req,
                                          proto::GetReferencesReply* rep) override;

 private:
  // How long the WaitObject call waits before answering "not yet".
  std::chrono::milliseconds PollOf(const proto::WaitObjectRequest& req) const;

  const TokenAuth& auth_;
  ObjectTable& objects_;
  const SharedFolder& shared_;
  const std::chrono::milliseconds max_poll_;
};

}  // namespace weft::internal
