#include "client/src/object_fetch.h"

#include <algorithm>
#include <chrono>

#include "absl/strings/str_cat.h"
#include "client/src/object_table.h"
#include "common/status.h"
#include "weft/serialization.h"

namespace weft::internal {
namespace {

// Long enough for a few GiB on loopback; a dead producer fails much sooner.
constexpr std::chrono::minutes kFetchTimeout{5};

class FetchReactor final : public grpc::ClientReadReactor<proto::ObjectChunk> {
 public:
  FetchReactor(InFlight& in_flight, SharedFolder* keep,
               std::function<void(absl::StatusOr<Bytes>)> done)
      : in_flight_(in_flight), keep_(keep), done_(std::move(done)) {
    context_.set_deadline(std::chrono::system_clock::now() + kFetchTimeout);
  }

  void Start(proto::Worker::Stub& stub, const std::string& id) {
    if (!in_flight_.Add(&context_)) {
      done_(absl::CancelledError("weft is shutting down"));
      delete this;
      return;
    }
    request_.set_object_id(id);
    stub.async()->FetchObject(&context_, &request_, this);
    StartRead(&chunk_);
    StartCall();
  }

  void OnReadDone(bool ok) override {
    if (!ok) return;
    if (first_) {
      first_ = false;
      size_ = static_cast<size_t>(std::max<int64_t>(chunk_.total_bytes(), 0));
      if (keep_ && size_ > kInlineValueBytes)
        writer_ = keep_->BeginCopy(request_.object_id(), size_);
      if (!writer_ && size_ > 0) ReserveLarge(data_, size_);
    }
    if (writer_ && !writer_->Append(chunk_.data()).ok()) ToMemory();
    if (!writer_ && failure_.ok()) data_.append(chunk_.data());
    received_ += chunk_.data().size();
    StartRead(&chunk_);
  }

  void OnDone(const grpc::Status& status) override {
    if (status.ok() && received_ != size_) {
      done_(absl::DataLossError(absl::StrCat("the fetch of ", request_.object_id(), " brought ",
                                             received_, " of its ", size_, " bytes")));
    } else if (status.ok() && writer_) {
      if (Bytes kept = keep_->FinishCopy(request_.object_id(), *writer_)) {
        done_(std::move(kept));
      } else {
        ToMemory();
        failure_.ok() ? done_(MakeBytes(std::move(data_))) : done_(failure_);
      }
    } else if (status.ok()) {
      failure_.ok() ? done_(MakeBytes(std::move(data_))) : done_(failure_);
    } else if (status.error_code() == grpc::StatusCode::CANCELLED && !in_flight_.closing()) {
      // Cancelled by the worker (it is stopping), not by this process's shutdown.
      done_(absl::UnavailableError(
          absl::StrCat("the worker ended the fetch: ", status.error_message())));
    } else {
      done_(FromGrpcStatus(status));
    }
    in_flight_.Remove(&context_, [this] { delete this; });
  }

 private:
  // Goes on in memory with what the copy's file has so far (the folder filled up meanwhile);
  // the fetch fails if that cannot be read back.
  void ToMemory() {
    auto written = writer_->ReadBack();
    writer_.reset();
    if (!written.ok()) {
      failure_ = written.status();
      return;
    }
    ReserveLarge(data_, size_);
    data_.append(*written);
  }

  InFlight& in_flight_;
  SharedFolder* const keep_;
  std::unique_ptr<FileWriter> writer_;  // the copy kept for the node, while it is written
  bool first_ = true;
  size_t size_ = 0;  // the whole value's, from the first chunk
  size_t received_ = 0;
  absl::Status failure_;  // the copy's file could not be read back
  std::function<void(absl::StatusOr<Bytes>)> done_;
  grpc::ClientContext context_;
  proto::FetchObjectRequest request_;
  proto::ObjectChunk chunk_;
  std::string data_;
};

}  // namespace

void FetchObject(proto::Worker::Stub& stub, const std::string& id, InFlight& in_flight,
                 SharedFolder* keep, std::function<void(absl::StatusOr<Bytes>)> done) {
  (new FetchReactor(in_flight, keep, std::move(done)))->Start(stub, id);
}

}  // namespace weft::internal
