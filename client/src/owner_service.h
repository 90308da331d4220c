#pragma once

#include "client/src/object_table.h"
#include "client/src/shared_bytes.h"
#include "common/auth.h"
#include "worker.grpc.pb.h"

namespace weft::internal {

// Answers borrowers of the objects this process owns (see ObjectTable): WaitObject replies once
// the object is resolved here, with its value, its location or its error. A waiting call holds
// no thread; it finishes when the object resolves or when the caller cancels or times out.
// Answers owners of the references this process borrows: WaitReleased replies once it holds
// none; and takes AddBorrower from borrowers that handed a reference on.
// Served by drivers (on a server of their own, started by Init) and by workers (on theirs).
class OwnerService final : public proto::Owner::CallbackService {
 public:
  // `folder`: where this process keeps its large Put values for its node to map.
  OwnerService(const TokenAuth& auth, ObjectTable& objects, const SharedFolder& folder)
      : auth_(auth), objects_(objects), shared_(folder) {}

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
  const TokenAuth& auth_;
  ObjectTable& objects_;
  const SharedFolder& shared_;
};

}  // namespace weft::internal
