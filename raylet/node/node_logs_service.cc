#include "raylet/node/node_logs_service.h"

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "common/ids.h"
#include "common/status.h"

namespace weft::node {

grpc::ServerUnaryReactor* NodeLogsService::DrainLogs(grpc::CallbackServerContext* ctx,
                                                     const proto::DrainLogsRequest*,
                                                     proto::DrainLogsReply* rep) {
  if (auto* r = auth_.Reject(ctx)) return r;
  outputs_.DrainNow();  // non-blocking reads
  auto* reactor = ctx->DefaultReactor();
  publisher_.Flush([this, reactor, rep](absl::Status status) {
    rep->set_lines_published(publisher_.published());
    reactor->Finish(ToGrpcStatus(status));
  });
  return reactor;
}

grpc::ServerUnaryReactor* NodeLogsService::ReadLog(grpc::CallbackServerContext* ctx,
                                                   const proto::ReadLogRequest* req,
                                                   proto::ReadLogReply* rep) {
  constexpr int64_t kDefaultBytes = 64 * 1024, kMostBytes = 1024 * 1024;
  if (auto* r = auth_.Reject(ctx)) return r;
  auto* reactor = ctx->DefaultReactor();
  const bool driver = !req->job_id().empty();  // one file: both streams
  const auto id_char = [](char c) { return absl::ascii_isalnum(c) || c == '-'; };
  if (driver && !std::all_of(req->job_id().begin(), req->job_id().end(), id_char)) {
    reactor->Finish({grpc::StatusCode::INVALID_ARGUMENT, "a job id is letters, digits and '-'"});
    return reactor;
  }
  if (!driver && req->stream() != proto::LOG_STDOUT && req->stream() != proto::LOG_STDERR) {
    reactor->Finish({grpc::StatusCode::INVALID_ARGUMENT, "stream must be stdout or stderr"});
    return reactor;
  }
  std::string path;
  if (driver) {
    // A job id makes a path: only one of this cluster's, whose driver ran here.
    if (FindWorker(DriverWorkerId(req->job_id())) ||
        std::filesystem::exists(pool_.DriverOutputPath(req->job_id()))) {
      path = pool_.DriverOutputPath(req->job_id());
    }
  } else if (const auto worker = FindWorker(req->worker_id())) {
    path = req->stream() == proto::LOG_STDOUT ? worker->stdout_path() : worker->stderr_path();
  }
  if (path.empty()) {
    reactor->Finish({grpc::StatusCode::NOT_FOUND,
                     driver ? absl::StrCat("the driver of job ", req->job_id(), " did not run here")
                            : absl::StrCat("this node knows no worker ", req->worker_id())});
    return reactor;
  }
  outputs_.DrainNow();  // what the pipes hold now goes to the file first (non-blocking)
  std::ifstream file(path, std::ios::binary);
  file.seekg(0, std::ios::end);
  const int64_t size = file ? static_cast<int64_t>(file.tellg()) : 0;
  int64_t offset = req->offset() < 0 ? size + req->offset() : req->offset();
  offset = std::clamp<int64_t>(offset, 0, size);
  const int64_t wanted =
      std::min(req->max_bytes() > 0 ? int64_t{req->max_bytes()} : kDefaultBytes, kMostBytes);
  std::string data(static_cast<size_t>(std::min(wanted, size - offset)), '\0');
  if (!data.empty()) {
    file.seekg(offset);
    file.read(data.data(), static_cast<std::streamsize>(data.size()));
    data.resize(static_cast<size_t>(std::max<std::streamsize>(0, file.gcount())));
  }
  rep->set_data(std::move(data));
  rep->set_offset(offset);
  rep->set_size(size);
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

grpc::ServerUnaryReactor* NodeLogsService::KeepCallLog(grpc::CallbackServerContext* ctx,
                                                       const proto::KeepCallLogRequest* req,
                                                       proto::KeepCallLogReply*) {
  if (auto* r = auth_.Reject(ctx)) return r;
  auto* reactor = ctx->DefaultReactor();
  auto worker = FindWorker(req->worker_id());
  if (!worker) {
    reactor->Finish({grpc::StatusCode::NOT_FOUND,
                     absl::StrCat("this node knows no worker ", req->worker_id())});
    return reactor;
  }
  archive_.Keep(*std::move(worker), req->calls());
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

grpc::ServerUnaryReactor* NodeLogsService::ListExitedCalls(grpc::CallbackServerContext* ctx,
                                                           const proto::ListExitedCallsRequest* req,
                                                           proto::ListExitedCallsReply* rep) {
  if (auto* r = auth_.Reject(ctx)) return r;
  for (auto& log : archive_.List(req->job_id())) *rep->add_workers() = std::move(log);
  auto* reactor = ctx->DefaultReactor();
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

std::optional<proto::WorkerInfo> NodeLogsService::FindWorker(const std::string& worker_id) const {
  for (auto& worker : pool_.List()) {
    if (worker.worker_id() == worker_id) return std::move(worker);
  }
  return std::nullopt;
}

}  // namespace weft::node
