#pragma once

#include <grpcpp/grpcpp.h>

#include <string>
#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "common/auth.h"
#include "common/certificates.h"
#include "raylet/head/job_registry.h"
#include "raylet/head/node_directory.h"
#include "raylet/head/storage/table_store.h"
#include "token.grpc.pb.h"

namespace weft::head {

// Rotating the cluster token (weft token rotate, issue 13): makes a new token, stores what the
// cluster keeps of it (its SHA-256, the CA key sealed with it) and writes it to the head's
// token files, takes it itself, and hands it to every ALIVE node (which hand it to their
// workers) and every running job's driver; once they all answered, it tells them again to send
// the new token from now on (else from half the grace), and answers. Every process accepts
// both tokens until the grace is over, then only the new one. One rotation at a time, even
// across a restart of the head (the end of the grace is stored).
class TokenRotationService final : public proto::TokenRotation::CallbackService {
 public:
  struct Parts {
    TableStore& store;
    const NodeDirectory& nodes;
    const JobRegistry& jobs;
    const Identity& authority;  // its key is stored sealed with the token
  };
  TokenRotationService(const TokenAuth& auth, std::string token, Parts parts)
      : auth_(auth), token_(std::move(token)), parts_(parts) {}
  ~TokenRotationService();  // waits for a hand-on under way

  // Files the token is kept in (the session's, --token-file): rewritten at each rotation.
  void KeepTokenIn(std::vector<std::string> files);

  grpc::ServerUnaryReactor* RotateToken(grpc::CallbackServerContext* ctx,
                                        const proto::RotateTokenRequest* req,
                                        proto::RotateTokenReply* rep) override;

 private:
  absl::Status WriteTokenFiles(const std::string& token) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const TokenAuth& auth_;
  const std::string token_;  // the head's, as it started: rotations follow from it
  const Parts parts_;
  absl::Mutex mu_;
  std::vector<std::string> files_ ABSL_GUARDED_BY(mu_);
  absl::Time under_way_until_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  bool until_loaded_ ABSL_GUARDED_BY(mu_) = false;  // from the store, once
  // Rotations not yet over are refused: at most one thread, joined at the next rotation.
  std::thread handing_on_ ABSL_GUARDED_BY(mu_);
};

}  // namespace weft::head
