#include "raylet/head/object_directory_service.h"

#include "common/logging.h"
#include "common/rpc.h"

namespace weft::head {

grpc::ServerUnaryReactor* ObjectDirectoryService::AddObjectLocation(
    grpc::CallbackServerContext* ctx, const proto::AddObjectLocationRequest* req,
    proto::AddObjectLocationReply*) {
  if (auto* r = auth_.Reject(ctx)) return r;
  return FinishWith(
      ctx, objects_.Add(req->object_id(), req->location(), {req->owner(), req->owner_worker_id()}));
}

grpc::ServerUnaryReactor* ObjectDirectoryService::ListObjects(grpc::CallbackServerContext* ctx,
                                                              const proto::ListObjectsRequest*,
                                                              proto::ListObjectsReply* rep) {
  if (auto* r = auth_.Reject(ctx)) return r;
  for (auto& object : objects_.List()) *rep->add_objects() = std::move(object);
  return FinishWith(ctx, absl::OkStatus());
}

grpc::ServerUnaryReactor* ObjectDirectoryService::MarkObjectsSpilled(
    grpc::CallbackServerContext* ctx, const proto::MarkObjectsSpilledRequest* req,
    proto::MarkObjectsSpilledReply*) {
  if (auto* r = auth_.Reject(ctx)) return r;
  for (const auto& id : req->object_ids()) objects_.MarkSpilled(id, req->worker_id());
  return FinishWith(ctx, absl::OkStatus());
}

grpc::ServerUnaryReactor* ObjectDirectoryService::RemoveObjectLocation(
    grpc::CallbackServerContext* ctx, const proto::RemoveObjectLocationRequest* req,
    proto::RemoveObjectLocationReply*) {
  if (auto* r = auth_.Reject(ctx)) return r;
  for (const auto& id : req->object_ids()) objects_.Remove(id, req->worker_id());
  return FinishWith(ctx, absl::OkStatus());
}

grpc::ServerUnaryReactor* ObjectDirectoryService::GetObjectLocations(
    grpc::CallbackServerContext* ctx, const proto::GetObjectLocationsRequest* req,
    proto::GetObjectLocationsReply* rep) {
  if (auto* r = auth_.Reject(ctx)) return r;
  for (auto& location : objects_.Locations(req->object_id())) {
    *rep->add_locations() = std::move(location);
  }
  return FinishWith(ctx, absl::OkStatus());
}

}  // namespace weft::head
