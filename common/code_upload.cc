#include "common/code_upload.h"

#include <algorithm>
#include <fstream>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/code_library.h"
#include "common/rpc.h"
#include "common/status.h"

namespace weft {
namespace {

// How long sending one file may take.
constexpr auto kSendTimeout = std::chrono::minutes(5);
// Files asked about per MissingCode (the head takes up to 1,024).
constexpr size_t kMostAsked = 1000;

}  // namespace

bool IsSystemLibrary(const std::string& path) {
  for (const char* folder : {"/lib/", "/usr/lib/", "/lib64/", "/usr/lib64/"}) {
    if (absl::StartsWith(path, folder)) return true;
  }
  return false;
}

absl::Status SendCode(proto::CodeStore::Stub& head, const std::vector<CodeFile>& code) {
  absl::flat_hash_set<std::string> wanted;
  for (size_t from = 0; from < code.size(); from += kMostAsked) {
    proto::MissingCodeRequest asked;
    for (size_t i = from; i < std::min(code.size(), from + kMostAsked); ++i) {
      *asked.add_libraries() = code[i].library;
    }
    proto::MissingCodeReply missing;
    grpc::ClientContext context;
    SetTimeout(context, kControlRpcTimeout);
    if (auto status = FromGrpcStatus(head.MissingCode(&context, asked, &missing)); !status.ok()) {
      return status;
    }
    wanted.insert(missing.sha256().begin(), missing.sha256().end());
  }
  for (const auto& file : code) {
    if (!wanted.erase(file.library.sha256())) continue;  // the head has it, or it was just sent
    std::ifstream in(file.path, std::ios::binary);
    if (!in) return absl::NotFoundError(absl::StrCat("cannot read ", file.path));
    grpc::ClientContext put_context;
    SetTimeout(put_context, kSendTimeout);
    proto::PutCodeReply reply;
    auto writer = head.PutCode(&put_context, &reply);
    proto::CodeChunk chunk;
    *chunk.mutable_library() = file.library;
    std::string buffer(kCodeChunkBytes, '\0');
    bool sent = true;
    do {
      in.read(buffer.data(), static_cast<std::streamsize>(buffer.size()));
      chunk.set_data(buffer.data(), static_cast<size_t>(in.gcount()));
      sent = writer->Write(chunk);
      chunk.clear_library();
    } while (sent && in.gcount() > 0 && in);
    if (sent) writer->WritesDone();
    if (auto status = FromGrpcStatus(writer->Finish()); !status.ok()) {
      return absl::Status(status.code(), absl::StrCat("cannot send ", file.path,
                                                      " to the head: ", status.message()));
    }
  }
  return absl::OkStatus();
}

}  // namespace weft
