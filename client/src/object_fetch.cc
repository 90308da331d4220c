#include "client/src/object_fetch.h"

#include <chrono>

#include "absl/strings/str_cat.h"
#include "common/status.h"
#include "weft/serialization.h"

namespace weft::internal {
namespace {

// Long enough for a few GiB on loopback; a dead producer fails much sooner.
constexpr std::chrono::minutes kFetchTimeout{5};

class FetchReactor final : public grpc::ClientReadReactor<proto::ObjectChunk> {
 public:
  FetchReactor(InFlight& in_flight, std::function<void(absl::StatusOr<Bytes>)> done)
      : in_flight_(in_flight), done_(std::move(done)) {
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
    if (chunk_.total_bytes() > 0 && data_.empty()) ReserveLarge(data_, chunk_.total_bytes());
    data_.append(chunk_.data());
    StartRead(&chunk_);
  }

  void OnDone(const grpc::Status& status) override {
    if (status.ok()) {
      done_(MakeBytes(std::move(data_)));
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
  InFlight& in_flight_;
  std::function<void(absl::StatusOr<Bytes>)> done_;
  grpc::ClientContext context_;
  proto::FetchObjectRequest request_;
  proto::ObjectChunk chunk_;
  std::string data_;
};

}  // namespace

void FetchObject(proto::Worker::Stub& stub, const std::string& id, InFlight& in_flight,
                 std::function<void(absl::StatusOr<Bytes>)> done) {
  (new FetchReactor(in_flight, std::move(done)))->Start(stub, id);
}

}  // namespace weft::internal
