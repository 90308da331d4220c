#include "raylet/head/code_store_service.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "absl/strings/str_cat.h"
#include "common/code_library.h"
#include "common/logging.h"
#include "common/rpc.h"

namespace weft::head {
namespace {

// How many libraries one MissingCode may ask about.
constexpr int kMaxAsked = 1024;
// How many PutCode calls the head takes at once (each may hold a temporary file of its
// library's size until it ends).
constexpr int kMaxUploads = 8;

bool IsPartial(const std::filesystem::path& path) {
  return path.filename().string().find(".partial-") != std::string::npos;
}

template <typename Reactor>
class Refused final : public Reactor {
 public:
  explicit Refused(const grpc::Status& status) { this->Finish(status); }
  void OnDone() override { delete this; }
};

grpc::Status Unauthenticated() {
  return grpc::Status(grpc::StatusCode::UNAUTHENTICATED, "bad cluster token");
}

}  // namespace

// One PutCode: the first chunk names the library, the rest is its bytes, written to a
// temporary file that takes the library's place once they check.
class CodeStoreService::Receiver final : public grpc::ServerReadReactor<proto::CodeChunk> {
 public:
  explicit Receiver(CodeStoreService& service) : service_(service) { StartRead(&chunk_); }
  ~Receiver() override { --service_.uploads_; }

  void OnReadDone(bool ok) override {
    if (!ok) return Done();  // the sender half-closed: all its bytes are in
    if (chunk_.data().size() > kCodeChunkBytes) {
      return Finish(
          grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                       absl::StrCat("a code chunk holds at most ", kCodeChunkBytes, " bytes")));
    }
    if (!writer_) {
      auto writer =
          CodeFileWriter::Create(service_.PathOf(chunk_.library().sha256()), chunk_.library());
      if (!writer.ok()) return Finish(ToGrpcStatus(writer.status()));
      writer_ = *std::move(writer);
      library_ = chunk_.library();
    }
    if (auto status = writer_->Append(chunk_.data()); !status.ok()) {
      return Finish(ToGrpcStatus(status));
    }
    StartRead(&chunk_);
  }
  void OnDone() override { delete this; }

 private:
  void Done() {
    if (!writer_) {
      return Finish(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "no code library was sent"));
    }
    if (auto status = writer_->Commit(); !status.ok()) return Finish(ToGrpcStatus(status));
    spdlog::info("code library stored name={} sha256={} bytes={}", library_.name(),
                 library_.sha256(), library_.size());
    Finish(grpc::Status::OK);
  }

  CodeStoreService& service_;
  proto::CodeChunk chunk_;
  proto::CodeLibrary library_;
  std::unique_ptr<CodeFileWriter> writer_;
};

// One FetchCode: the library's file, a chunk at a time.
class CodeStoreService::Sender final : public grpc::ServerWriteReactor<proto::CodeChunk> {
 public:
  Sender(int fd, std::string path, proto::CodeLibrary library, int64_t size)
      : fd_(fd), path_(std::move(path)), library_(std::move(library)), size_(size) {
    Next();
  }
  ~Sender() override { close(fd_); }

  void OnWriteDone(bool ok) override {
    if (!ok) return Finish(grpc::Status::CANCELLED);
    Next();
  }
  void OnDone() override { delete this; }

 private:
  void Next() {
    if (started_ && offset_ >= size_) return Finish(Checked());
    chunk_.Clear();
    if (!started_) *chunk_.mutable_library() = library_;
    started_ = true;
    const auto n = static_cast<size_t>(std::min<int64_t>(kCodeChunkBytes, size_ - offset_));
    std::string& data = *chunk_.mutable_data();
    data.resize(n);
    const ssize_t got = pread(fd_, data.data(), n, static_cast<off_t>(offset_));
    if (got != static_cast<ssize_t>(n)) {
      return Finish(grpc::Status(grpc::StatusCode::DATA_LOSS,
                                 absl::StrCat("the head's copy of code library ", library_.name(),
                                              " cannot be read at ", offset_)));
    }
    offset_ += static_cast<int64_t>(n);
    hash_.Update(data);
    StartWrite(&chunk_);
  }

  // The copy was altered on the head's disk: it goes, so that the next driver sends it again.
  grpc::Status Checked() {
    if (hash_.HexDigest() == library_.sha256()) return grpc::Status::OK;
    unlink(path_.c_str());
    spdlog::error("code library removed: its copy does not match its SHA-256 name={} path={}",
                  library_.name(), path_);
    return grpc::Status(
        grpc::StatusCode::DATA_LOSS,
        absl::StrCat("the head's copy of code library ", library_.name(),
                     " does not match its SHA-256 (altered on the head's disk); it was removed: "
                     "run the job's driver again to send it"));
  }

  const int fd_;
  const std::string path_;
  const proto::CodeLibrary library_;
  const int64_t size_;
  int64_t offset_ = 0;
  bool started_ = false;
  proto::CodeChunk chunk_;
  Sha256 hash_;
};

void CodeStoreService::KeepIn(std::string dir) {
  dir_ = std::move(dir);
  std::error_code error;  // what uploads cut short by an earlier head left
  for (const auto& entry : std::filesystem::directory_iterator(dir_, error)) {
    if (IsPartial(entry.path())) std::filesystem::remove(entry.path(), error);
  }
}

bool CodeStoreService::Has(const std::string& sha256) const {
  std::error_code error;
  return !dir_.empty() && std::filesystem::is_regular_file(PathOf(sha256), error);
}

grpc::ServerUnaryReactor* CodeStoreService::MissingCode(grpc::CallbackServerContext* ctx,
                                                        const proto::MissingCodeRequest* req,
                                                        proto::MissingCodeReply* rep) {
  if (auto* r = auth_.Reject(ctx)) return r;
  if (req->libraries_size() > kMaxAsked) {
    return FinishWith(ctx, absl::InvalidArgumentError(absl::StrCat(
                               "at most ", kMaxAsked, " code libraries are asked about at once")));
  }
  for (const auto& library : req->libraries()) {
    if (auto status = CheckLibrary(library); !status.ok()) return FinishWith(ctx, status);
  }
  if (dir_.empty())
    return FinishWith(ctx, absl::FailedPreconditionError("this head keeps no code"));
  for (const auto& library : req->libraries()) {
    if (access(PathOf(library.sha256()).c_str(), F_OK) != 0) rep->add_sha256(library.sha256());
  }
  return FinishWith(ctx, absl::OkStatus());
}

grpc::ServerReadReactor<proto::CodeChunk>* CodeStoreService::PutCode(
    grpc::CallbackServerContext* ctx, proto::PutCodeReply*) {
  using Refusal = Refused<grpc::ServerReadReactor<proto::CodeChunk>>;
  if (!auth_.Allows(*ctx)) return new Refusal(Unauthenticated());
  if (dir_.empty()) {
    return new Refusal(
        grpc::Status(grpc::StatusCode::FAILED_PRECONDITION, "this head keeps no code"));
  }
  if (++uploads_ > kMaxUploads) {
    --uploads_;
    return new Refusal(grpc::Status(
        grpc::StatusCode::RESOURCE_EXHAUSTED,
        absl::StrCat("the head takes at most ", kMaxUploads, " code libraries at once")));
  }
  return new Receiver(*this);
}

grpc::ServerWriteReactor<proto::CodeChunk>* CodeStoreService::FetchCode(
    grpc::CallbackServerContext* ctx, const proto::FetchCodeRequest* req) {
  using Refusal = Refused<grpc::ServerWriteReactor<proto::CodeChunk>>;
  if (!auth_.Allows(*ctx)) return new Refusal(Unauthenticated());
  if (auto status = CheckLibrary(req->library()); !status.ok()) {
    return new Refusal(ToGrpcStatus(status));
  }
  if (dir_.empty()) {
    return new Refusal(
        grpc::Status(grpc::StatusCode::FAILED_PRECONDITION, "this head keeps no code"));
  }
  std::string path = PathOf(req->library().sha256());
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  struct stat st {};
  if (fd < 0 || fstat(fd, &st) != 0) {
    if (fd >= 0) close(fd);
    return new Refusal(grpc::Status(
        grpc::StatusCode::NOT_FOUND,
        absl::StrCat("the head has no copy of code library ", req->library().name(), " (sha256 ",
                     req->library().sha256(),
                     "): a driver sends its code when it starts, and a head started again on "
                     "another machine has only what was sent to it since: run the job's driver "
                     "again")));
  }
  return new Sender(fd, std::move(path), req->library(), st.st_size);
}

}  // namespace weft::head
