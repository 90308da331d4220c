#include "client/src/object_freer.h"

#include "client/src/runtime.h"
#include "common/logging.h"
#include "common/rpc.h"

namespace weft::internal {

void ObjectFreer::Free(const std::string& address, std::string id) {
  {
    std::lock_guard lock(mu_);
    auto [it, idle] = waiting_.try_emplace(address);
    if (!idle) {
      it->second.push_back(std::move(id));
      return;
    }
  }
  Send(address, {std::move(id)});
}

void ObjectFreer::Send(const std::string& address, std::vector<std::string> ids) {
  struct Call {
    std::unique_ptr<grpc::ClientContext> context;
    proto::FreeObjectsRequest request;
    proto::FreeObjectsReply reply;
  };
  auto call = std::make_shared<Call>(Call{ContextWithTimeout(kControlRpcTimeout), {}, {}});
  for (auto& id : ids) call->request.add_object_ids(std::move(id));
  grpc::ClientContext* context = call->context.get();
  if (!in_flight_.Add(context)) return;  // shutting down: the job's workers go with it
  workers_.Stub(address).async()->FreeObjects(
      context, &call->request, &call->reply, [this, call, context, address](grpc::Status status) {
        if (!status.ok()) {
          spdlog::debug("freeing {} objects at {} failed: {}", call->request.object_ids_size(),
                        address, status.error_message());
        }
        std::vector<std::string> next;
        {
          std::lock_guard lock(mu_);
          auto it = waiting_.find(address);
          next.swap(it->second);
          if (next.empty()) waiting_.erase(it);
        }
        if (!next.empty()) Send(address, std::move(next));
        in_flight_.Remove(context, [&] { call->context.reset(); });
      });
}

}  // namespace weft::internal
