#pragma once

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <string>

#include "code.grpc.pb.h"
#include "common/auth.h"

namespace weft::head {

// The head's copies of the jobs' code libraries (proto/code.proto, issue 14), one read-only
// file per library named by its SHA-256 in `<session>/job_code`: drivers send what the head
// lacks, nodes fetch what their workers need. A copy is kept only once its bytes have the size
// and hash it was sent under. Thread-safe: files are written beside their place and renamed.
class CodeStoreService final : public proto::CodeStore::CallbackService {
 public:
  explicit CodeStoreService(const TokenAuth& auth) : auth_(auth) {}

  // Where the copies are kept; removes what uploads cut short by an earlier head left. Call
  // before serving.
  void KeepIn(std::string dir);
  // Whether the head keeps the library with this SHA-256 (as CheckLibrary takes it).
  bool Has(const std::string& sha256) const;

  grpc::ServerUnaryReactor* MissingCode(grpc::CallbackServerContext*,
                                        const proto::MissingCodeRequest*,
                                        proto::MissingCodeReply*) override;
  grpc::ServerReadReactor<proto::CodeChunk>* PutCode(grpc::CallbackServerContext*,
                                                     proto::PutCodeReply*) override;
  grpc::ServerWriteReactor<proto::CodeChunk>* FetchCode(grpc::CallbackServerContext*,
                                                        const proto::FetchCodeRequest*) override;

 private:
  class Receiver;
  class Sender;

  std::string PathOf(const std::string& sha256) const { return dir_ + "/" + sha256; }

  const TokenAuth& auth_;
  std::string dir_;
  std::atomic<int> uploads_{0};  // PutCode calls under way
};

}  // namespace weft::head
