#pragma once

#include <grpcpp/server_builder.h>

#include <memory>
#include <string>

#include "absl/status/statusor.h"

#include "common/auth.h"
#include "raylet/head/actor_directory.h"
#include "raylet/head/actor_directory_service.h"
#include "raylet/head/actor_manager.h"
#include "raylet/head/certificate_service.h"
#include "raylet/head/code_store_service.h"
#include "raylet/head/job_registry.h"
#include "raylet/head/job_registry_service.h"
#include "raylet/head/job_submissions.h"
#include "raylet/head/log_broker.h"
#include "raylet/head/log_broker_service.h"
#include "raylet/head/node_directory.h"
#include "raylet/head/node_directory_service.h"
#include "raylet/head/object_directory.h"
#include "raylet/head/object_directory_service.h"
#include "raylet/head/scheduler_service.h"
#include "raylet/head/storage/table_store.h"
#include "raylet/head/token_rotation_service.h"

namespace weft::head {

// How a head's cluster uses TLS (see Head::Create).
struct TlsMode {
  bool tls = false;
  bool mutual = false;          // every server asks for a certificate of the CA
  std::string operator_ca_pem;  // the operator's CA (--tls-ca): no key, no certificate signed
};

// The head's services: node, actor and object directories, job registry, scheduler and the
// log broker.
// Owns the tables and their gRPC adapters; the raylet hosts them on its server.
//
// Its tables (cluster id, nodes, jobs, actors, object locations) live in a TableStore, each
// change written before it is acknowledged; a head started on a store that holds a cluster
// takes that cluster over (see Create). Workers and free resources are not stored: the nodes'
// heartbeats and exit reports rebuild them.
class Head {
 public:
  // How long a restarted head waits for the drivers of running jobs to hold their jobs again
  // before it fails them. (Nodes get head_lost_timeout plus the node timeout.)
  static constexpr absl::Duration kRecoveryGrace = absl::Seconds(10);

  // A head over `store`: the stored cluster (same cluster id, terms, nodes, jobs, actors),
  // waiting for its nodes and drivers, or a new one when the store holds none and
  // `existed` is false (it was just made). DATA_LOSS when a row does not parse or an existing
  // store holds no cluster (damaged: truncated, its write-ahead log lost), UNAVAILABLE when
  // the store cannot be read or written.
  // The cluster's CA: made for a new cluster with `tls.tls`, or the operator's; FAILED_PRECONDITION
  // when a stored cluster was started in another mode or under another CA. Call Recover next.
  static absl::StatusOr<std::unique_ptr<Head>> Create(NodeDirectory::Options options,
                                                      const TokenAuth& auth, std::string token,
                                                      std::unique_ptr<TableStore> store,
                                                      bool existed, TlsMode tls = {});
  // Loads the tables of a stored cluster (all empty for a new one) and takes over what they
  // hold: it may call nodes and workers, so call it once the process's transport security is
  // set, and before serving.
  [[nodiscard]] absl::Status Recover();

  const std::string& cluster_id() const { return cluster_id_; }
  // The cluster's certificate authority (kept in the store with the cluster); no key when it is
  // the operator's.
  const Identity& authority() const { return certificate_service_.authority(); }
  // Every server of the cluster takes only connections that show a certificate of its CA.
  bool mutual_tls() const { return certificate_service_.mutual_tls(); }
  // The head's own certificate, made once the CA is known. Call before serving.
  void ServeUnder(std::string cert_pem) { certificate_service_.ServeUnder(std::move(cert_pem)); }
  // The terms in force: the flags', or the stored cluster's.
  const NodeDirectory::Options& node_options() const { return nodes_.options(); }

  // Files the cluster token is kept in (the session's, --token-file): `weft token rotate`
  // writes the new token there. Call before serving.
  void KeepTokenIn(std::vector<std::string> files) { token_service_.KeepTokenIn(std::move(files)); }
  // The folder the jobs' code libraries are kept in (`<session>/job_code`). Call before serving.
  void KeepCodeIn(std::string dir) { code_service_.KeepIn(std::move(dir)); }

  // Registers every head service with `builder`. Call once, before the server starts.
  void AddServices(grpc::ServerBuilder& builder);

  // Marks silent nodes dead and drops what lived on them, fails jobs whose drivers did not
  // come back after a restart. Call about twice per heartbeat.
  void CheckLiveness();

  // Ends leases still waiting on nodes; call before the server shuts down.
  void CancelLeases() {
    submissions_.Close();
    scheduler_service_.CancelAll();
  }

  // Ends the drivers' log and job streams (once their queued lines are sent), so that a
  // server shutdown does not wait for them nor fail the jobs.
  void CloseLogStreams() {
    job_service_.CloseKeepers();
    logs_.CloseAll();
    actor_manager_.AnswerWaits();  // long polls too, and their streams after their answers
    actor_service_.CloseWatches("the head is stopping");
  }

 private:
  Head(NodeDirectory::Options options, const TokenAuth& auth, std::string token,
       std::string cluster_id, Identity authority, bool mutual_tls,
       std::unique_ptr<TableStore> store);
  void OnNodeDead(const std::string& node_id);
  // A node taken over from a dead head is back: its workers' leases become this head's.
  void AdoptWorkersOf(const proto::NodeInfo& node);
  void FreeOrphans(const ObjectDirectory::Orphans& orphans);
  // A job ended (its driver finished, failed or exited): its actors end, its objects go.
  void OnJobEnded(const std::string& job_id, const std::string& reason);

  const std::unique_ptr<TableStore> store_;
  const std::string cluster_id_;
  CertificateService certificate_service_;
  CodeStoreService code_service_;
  NodeDirectory nodes_;
  JobRegistry jobs_;
  ActorDirectory actors_;
  ObjectDirectory objects_;
  WorkerStubs worker_stubs_;
  LogBroker logs_;
  SchedulerService scheduler_service_;
  ActorManager actor_manager_;
  JobSubmissions submissions_;
  NodeDirectoryService node_service_;
  JobRegistryService job_service_;
  ActorDirectoryService actor_service_;
  ObjectDirectoryService object_service_;
  LogBrokerService log_service_;
  TokenRotationService token_service_;
};

}  // namespace weft::head
