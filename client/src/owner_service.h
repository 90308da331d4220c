#pragma once

#include <chrono>

#include "client/src/object_table.h"
#include "client/src/shared_bytes.h"
#include "common/timers.h"
#include "common/auth.h"
#include "common/watch_reactor.h"
#include "worker.grpc.pb.h"

namespace weft::internal {

// Answers borrowers of the objects this process owns (see ObjectTable): each watch of
// WatchObjects is answered once the object is resolved here, with its value, its location or its
// error, or with no outcome ("not yet") after its poll_ms, at most `max_poll`. A waiting watch
// holds no thread; it ends when the object resolves, its poll runs out, or the caller takes it
// out or goes away, and leaves no wait behind in the table.
// Answers owners of the references this process borrows: each watch of WatchReleases is answered
// once it holds none; and takes AddBorrower from borrowers that handed a reference on.
// Served by drivers (on a server of their own, started by Init) and by workers (on theirs).
class OwnerService final : public proto::Owner::CallbackService {
 public:
  static constexpr std::chrono::milliseconds kMaxPoll = std::chrono::seconds(60);
  using ObjectWatches = WatchReactor<proto::ObjectWatches, proto::ObjectWatchAnswers>;
  using ReleaseWatches = WatchReactor<proto::ReleaseWatches, proto::ReleaseWatchAnswers>;

  // `folder`: where this process keeps its large Put values for its node to map. `timers`: the
  // polls' (it must outlive the service's streams). `max_poll`: the longest one object watch
  // waits before answering "not yet".
  OwnerService(const TokenAuth& auth, ObjectTable& objects, const SharedFolder& folder,
               Timers& timers, std::chrono::milliseconds max_poll = kMaxPoll)
      : auth_(auth), objects_(objects), shared_(folder), timers_(timers), max_poll_(max_poll) {}

  grpc::ServerBidiReactor<proto::ObjectWatches, proto::ObjectWatchAnswers>* WatchObjects(
      grpc::CallbackServerContext* ctx) override;
  // As a borrower: each watch is answered once this process holds no reference to its object.
  grpc::ServerBidiReactor<proto::ReleaseWatches, proto::ReleaseWatchAnswers>* WatchReleases(
      grpc::CallbackServerContext* ctx) override;
  // As the owner: a borrower handed the reference on.
  grpc::ServerUnaryReactor* AddBorrower(grpc::CallbackServerContext* ctx,
                                        const proto::AddBorrowerRequest* req,
                                        proto::AddBorrowerReply* rep) override;
  grpc::ServerUnaryReactor* GetReferences(grpc::CallbackServerContext* ctx,
                                          const proto::GetReferencesRequest* req,
                                          proto::GetReferencesReply* rep) override;

 private:
  // One object watch of the borrower at `peer`.
  ObjectWatches::Withdraw WatchObject(const proto::WaitObjectRequest& req, const std::string& peer,
                                      ObjectWatches::Respond finish);
  // The answer to a watch of `id`, resolved here: what the borrower fetches or maps, or the value.
  proto::CallResult AnswerOf(const std::string& id, bool asked_again,
                             const std::vector<std::string>& local_nodes);
  // How long the watch waits before answering "not yet".
  std::chrono::milliseconds PollOf(const proto::WaitObjectRequest& req) const;

  const TokenAuth& auth_;
  ObjectTable& objects_;
  const SharedFolder& shared_;
  Timers& timers_;
  const std::chrono::milliseconds max_poll_;
};

}  // namespace weft::internal
