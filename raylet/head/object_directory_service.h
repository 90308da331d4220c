#pragma once

#include "common/auth.h"
#include "head.grpc.pb.h"
#include "raylet/head/object_directory.h"

namespace weft::head {

// gRPC adapter: checks the token, calls one method of the table, finishes. Never blocks.
class ObjectDirectoryService final : public proto::ObjectDirectory::CallbackService {
 public:
  ObjectDirectoryService(ObjectDirectory& objects, const TokenAuth& auth)
      : objects_(objects), auth_(auth) {}

  grpc::ServerUnaryReactor* AddObjectLocation(grpc::CallbackServerContext*,
                                              const proto::AddObjectLocationRequest*,
                                              proto::AddObjectLocationReply*) override;
  grpc::ServerUnaryReactor* RemoveObjectLocation(grpc::CallbackServerContext*,
                                                 const proto::RemoveObjectLocationRequest*,
                                                 proto::RemoveObjectLocationReply*) override;
  grpc::ServerUnaryReactor* GetObjectLocations(grpc::CallbackServerContext*,
                                               const proto::GetObjectLocationsRequest*,
                                               proto::GetObjectLocationsReply*) override;

  grpc::ServerUnaryReactor* MarkObjectsSpilled(grpc::CallbackServerContext*,
                                               const proto::MarkObjectsSpilledRequest*,
                                               proto::MarkObjectsSpilledReply*) override;
  grpc::ServerUnaryReactor* ListObjects(grpc::CallbackServerContext*,
                                        const proto::ListObjectsRequest*,
                                        proto::ListObjectsReply*) override;

 private:
  ObjectDirectory& objects_;
  const TokenAuth& auth_;
};

}  // namespace weft::head
