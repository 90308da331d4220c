#pragma once

#include <grpcpp/server_builder.h>

#include <string>

#include "common/auth.h"
#include "raylet/head/actor_directory.h"
#include "raylet/head/actor_directory_service.h"
#include "raylet/head/actor_manager.h"
#include "raylet/head/job_registry.h"
#include "raylet/head/job_registry_service.h"
#include "raylet/head/log_broker.h"
#include "raylet/head/log_broker_service.h"
#include "raylet/head/node_directory.h"
#include "raylet/head/node_directory_service.h"
#include "raylet/head/object_directory.h"
#include "raylet/head/object_directory_service.h"
#include "raylet/head/scheduler_service.h"

namespace weft::head {

// The head's services: node, actor and object directories, job registry, scheduler and the
// log broker.
// Owns the tables and their gRPC adapters; the raylet hosts them on its server.
class Head {
 public:
  Head(NodeDirectory::Options options, const TokenAuth& auth, std::string token);

  // Registers every head service with `builder`. Call once, before the server starts.
  void AddServices(grpc::ServerBuilder& builder);

  // Marks silent nodes dead and drops what lived on them. Call about twice per heartbeat.
  void CheckLiveness();

  // Ends leases still waiting on nodes; call before the server shuts down.
  void CancelLeases() { scheduler_service_.CancelAll(); }

  // Ends the drivers' log and job streams (once their queued lines are sent), so that a
  // server shutdown does not wait for them nor fail the jobs.
  void CloseLogStreams() {
    job_service_.CloseKeepers();
    logs_.CloseAll();
  }

 private:
  void OnNodeDead(const std::string& node_id);
  void FreeOrphans(const ObjectDirectory::Orphans& orphans);

  const std::string cluster_id_;
  NodeDirectory nodes_;
  JobRegistry jobs_;
  ActorDirectory actors_;
  ObjectDirectory objects_;
  WorkerStubs worker_stubs_;
  LogBroker logs_;
  SchedulerService scheduler_service_;
  ActorManager actor_manager_;
  NodeDirectoryService node_service_;
  JobRegistryService job_service_;
  ActorDirectoryService actor_service_;
  ObjectDirectoryService object_service_;
  LogBrokerService log_service_;
};

}  // namespace weft::head
