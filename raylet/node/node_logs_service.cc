#include "raylet/node/node_logs_service.h"

#include <algorithm>
#include <fstream>

#include "absl/strings/str_cat.h"
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
  if (req->stream() != proto::LOG_STDOUT && req->stream() != proto::LOG_STDERR) {
    reactor->Finish({grpc::StatusCode::INVALID_ARGUMENT, "stream must be stdout or stderr"});
    return reactor;
  }
  std::string path;
  for (const auto& worker : pool_.List()) {
    if (worker.worker_id() != req->worker_id()) continue;
    path = req->stream() == proto::LOG_STDOUT ? worker.stdout_path() : worker.stderr_path();
  }
  if (path.empty()) {
    reactor->Finish({grpc::StatusCode::NOT_FOUND,
                     absl::StrCat("this node knows no worker ", req->worker_id())});
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

}  // namespace weft::node
