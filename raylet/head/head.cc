#include "raylet/head/head.h"

#include <optional>

#include "absl/strings/str_cat.h"
#include "common/ids.h"
#include "common/logging.h"
#include "common/rpc.h"

namespace weft::head {

absl::StatusOr<std::unique_ptr<Head>> Head::Create(NodeDirectory::Options options,
                                                   const TokenAuth& auth, std::string token,
                                                   std::unique_ptr<TableStore> store, bool existed,
                                                   TlsMode mode) {
  const bool tls = mode.tls || !mode.operator_ca_pem.empty();
  const bool mutual_tls = mode.mutual;
  const bool operator_ca = !mode.operator_ca_pem.empty();
  auto rows = store->Load(kClusterTable);
  if (!rows.ok()) return rows.status();
  std::string cluster_id;
  std::string stored_fingerprint;
  std::optional<proto::RegisterNodeReply> stored_terms;
  Identity authority;
  std::string sealed_ca_key;
  std::optional<bool> stored_tls;
  bool stored_mutual = false;
  bool stored_operator_ca = false;
  for (const auto& [key, value] : *rows) {
    if (key == "id") cluster_id = value;
    if (key == "ca_cert") authority.cert_pem = value;
    if (key == "ca_key_sealed") sealed_ca_key = value;
    if (key == "tls") stored_tls = value == "1";
    if (key == "mutual_tls") stored_mutual = value == "1";
    if (key == "ca_given") stored_operator_ca = value == "1";
    if (key == "token_sha256") stored_fingerprint = value;
    if (key == "terms" && !stored_terms.emplace().ParseFromString(value)) {
      return absl::DataLossError("the cluster's stored terms do not parse");
    }
  }
  const bool restarted = !cluster_id.empty();
  if (!restarted && existed) {
    return absl::DataLossError(
        "it holds no cluster id: it was damaged (truncated, or its write-ahead log lost)");
  }
  const std::string fingerprint = TokenFingerprint(token);
  if (restarted && !stored_fingerprint.empty() && stored_fingerprint != fingerprint) {
    // Its nodes and drivers carry the cluster's token: they would all be refused.
    return absl::PermissionDeniedError(
        absl::StrCat("cluster ", cluster_id,
                     " was started with another token: give this head the "
                     "cluster's token (--token-file), or --fresh-state to start a new cluster"));
  }
  if (restarted && stored_tls && *stored_tls && stored_operator_ca != operator_ca) {
    // Its nodes trust the CA they joined under, and only that one.
    return absl::FailedPreconditionError(
        stored_operator_ca
            ? absl::StrCat("cluster ", cluster_id,
                           " serves under the operator's CA, which its nodes trust: start its "
                           "head with that CA's --tls-ca, --tls-cert and --tls-key (or "
                           "--fresh-state for a new cluster)")
            : absl::StrCat("cluster ", cluster_id,
                           " serves under a CA of its own, which its nodes trust: start its "
                           "head without --tls-ca/--tls-cert/--tls-key (or --fresh-state for a "
                           "new cluster)"));
  }
  if (restarted && stored_tls && *stored_tls != tls) {
    // Its nodes and workers serve as they joined: with TLS or without.
    const char* flag = stored_mutual ? "--mutual-tls" : "--tls";
    return absl::FailedPreconditionError(
        absl::StrCat("cluster ", cluster_id, " was started ", *stored_tls ? "with " : "without ",
                     flag, ": start its head ", *stored_tls ? "with" : "without",
                     " it (or --fresh-state for a new cluster)"));
  }
  if (restarted && stored_tls && *stored_tls && stored_mutual != mutual_tls) {
    // Its nodes and workers take connections as they joined: with a certificate or not.
    return absl::FailedPreconditionError(
        absl::StrCat("cluster ", cluster_id, " was started ", stored_mutual ? "with" : "without",
                     " --mutual-tls: start its head ", stored_mutual ? "with" : "without",
                     " it (or --fresh-state for a new cluster)"));
  }
  if (restarted && operator_ca && !authority.cert_pem.empty() &&
      !SameCertificate(authority.cert_pem, mode.operator_ca_pem)) {
    return absl::FailedPreconditionError(absl::StrCat(
        "--tls-ca is another CA than the one cluster ", cluster_id,
        " was started under, which its nodes trust: give the head that CA and a certificate it "
        "signed (or --fresh-state for a new cluster)"));
  }
  if (!stored_operator_ca && authority.cert_pem.empty() != sealed_ca_key.empty()) {
    return absl::DataLossError("the cluster's CA is stored only in part");
  }
  if (!sealed_ca_key.empty()) {
    auto key = OpenWithToken(token, sealed_ca_key);
    if (!key.ok()) return absl::DataLossError("the cluster CA's key does not open with this token");
    authority.key_pem = *std::move(key);
  }
  if (restarted && stored_fingerprint.empty()) {
    if (auto stored = store->Apply({{kClusterTable, "token_sha256", fingerprint}}); !stored.ok()) {
      return stored;
    }
  }
  if (restarted && stored_terms) {
    // The nodes fence by the terms they joined under: a head that took over with other flags
    // would declare them dead before they stop their workers.
    const NodeDirectory::Options stored{
        .heartbeat_period = absl::Milliseconds(stored_terms->heartbeat_period_ms()),
        .node_timeout = absl::Milliseconds(stored_terms->node_timeout_ms()),
        .stall_threshold = absl::Milliseconds(stored_terms->node_timeout_ms()) / 2,
        .head_lost_timeout = absl::Milliseconds(stored_terms->head_lost_timeout_ms()),
        .max_dead_nodes = options.max_dead_nodes};
    if (stored.heartbeat_period != options.heartbeat_period ||
        stored.node_timeout != options.node_timeout ||
        stored.head_lost_timeout != options.head_lost_timeout) {
      spdlog::warn(
          "the cluster keeps the terms its nodes joined under: heartbeat {} node timeout {} "
          "head lost timeout {} (flags given: {} {} {})",
          absl::FormatDuration(stored.heartbeat_period), absl::FormatDuration(stored.node_timeout),
          absl::FormatDuration(stored.head_lost_timeout),
          absl::FormatDuration(options.heartbeat_period),
          absl::FormatDuration(options.node_timeout),
          absl::FormatDuration(options.head_lost_timeout));
    }
    options = stored;
    // Its processes keep the message limit they learned: so does the head (its own servers are
    // built after this).
    const int64_t limit = stored_terms->max_message_bytes();
    if (limit > 0 && limit != MaxMessageBytes()) {
      spdlog::warn("the cluster keeps its message limit of {} bytes (--max-message-size: {})",
                   limit, MaxMessageBytes());
      SetMaxMessageBytes(static_cast<int>(limit));
    }
  }
  if (!restarted) {
    cluster_id = RandomHex(8);
    proto::RegisterNodeReply terms;
    terms.set_heartbeat_period_ms(absl::ToInt64Milliseconds(options.heartbeat_period));
    terms.set_node_timeout_ms(absl::ToInt64Milliseconds(options.node_timeout));
    terms.set_head_lost_timeout_ms(absl::ToInt64Milliseconds(options.head_lost_timeout));
    terms.set_max_message_bytes(MaxMessageBytes());
    if (auto stored = store->Apply({{kClusterTable, "id", cluster_id},
                                    {kClusterTable, "token_sha256", fingerprint},
                                    RowOf(kClusterTable, "terms", terms)});
        !stored.ok()) {
      return stored;
    }
  }
  if (operator_ca && authority.cert_pem.empty()) {
    // The operator's CA: its key stays with the operator, so this head signs nothing.
    authority.cert_pem = mode.operator_ca_pem;
    if (auto stored = store->Apply({{kClusterTable, "ca_cert", authority.cert_pem},
                                    {kClusterTable, "ca_given", "1"},
                                    {kClusterTable, "tls", "1"},
                                    {kClusterTable, "mutual_tls", mutual_tls ? "1" : "0"}});
        !stored.ok()) {
      return stored;
    }
  } else if (tls && authority.cert_pem.empty()) {
    // The cluster's certificate authority (TLS, issue 13), kept with the cluster so that a head
    // taking it over elsewhere signs and serves under the same one; its key sealed with the
    // token, so that the store alone does not give it.
    auto made = MakeCertificateAuthority(absl::StrCat("Weft cluster ", cluster_id));
    if (!made.ok()) return made.status();
    authority = *std::move(made);
    auto sealed = SealWithToken(token, authority.key_pem);
    if (!sealed.ok()) return sealed.status();
    if (auto stored = store->Apply({{kClusterTable, "ca_cert", authority.cert_pem},
                                    {kClusterTable, "ca_key_sealed", *sealed},
                                    {kClusterTable, "tls", "1"},
                                    {kClusterTable, "mutual_tls", mutual_tls ? "1" : "0"}});
        !stored.ok()) {
      return stored;
    }
  } else if (!stored_tls) {
    if (auto stored = store->Apply({{kClusterTable, "tls", tls ? "1" : "0"}}); !stored.ok()) {
      return stored;
    }
  }
  std::unique_ptr<Head> head(new Head(options, auth, std::move(token), cluster_id,
                                      std::move(authority), tls && mutual_tls, std::move(store)));
  if (!restarted) spdlog::info("new cluster id={}", cluster_id);
  return head;
}

absl::Status Head::Recover() {
  // The objects first: nodes dropped as the nodes come back take their copies with them.
  if (auto objects = objects_.Recover(*store_); !objects.ok()) return objects;
  auto gone_nodes = nodes_.Recover(*store_, nodes_.options().head_lost_timeout);
  if (!gone_nodes.ok()) return gone_nodes.status();
  auto running = jobs_.Recover(*store_);
  if (!running.ok()) return running.status();
  auto live = actors_.Recover(*store_);
  if (!live.ok()) return live.status();
  actor_manager_.Recover(*live);
  for (const auto& id : *gone_nodes) OnNodeDead(id);
  // What a head that died halfway through an ending may have left: the copies stored on nodes
  // it had declared dead, the actors of jobs it had ended.
  for (const auto& node : nodes_.List()) {
    if (node.state() == proto::NODE_DEAD) objects_.RemoveNode(node.node_id());
  }
  absl::flat_hash_set<std::string> with_actors;
  for (const auto& row : *live) {
    if (!row.spec().detached()) with_actors.insert(row.spec().job_id());
  }
  for (const auto& job : jobs_.List()) {
    if (!JobEnded(job.state()) || !with_actors.contains(job.job_id())) continue;
    actor_manager_.OnJobFinished(job.job_id(),
                                 job.end_reason().empty() ? "its job finished" : job.end_reason());
    FreeOrphans(objects_.RemoveOwnedBy({job.job_id(), ""}));
  }
  job_service_.AwaitDrivers(*running, kRecoveryGrace);
  submissions_.Recover();
  const auto nodes = nodes_.ListAlive();
  if (!nodes.empty() || !live->empty() || !running->empty()) {
    spdlog::info("head took over cluster id={}: waiting up to {} for nodes={} jobs={}; actors={}",
                 cluster_id_, absl::FormatDuration(kRecoveryGrace), nodes.size(), running->size(),
                 live->size());
  }
  return absl::OkStatus();
}

Head::Head(NodeDirectory::Options options, const TokenAuth& auth, std::string token,
           std::string cluster_id, Identity authority, bool mutual_tls,
           std::unique_ptr<TableStore> store)
    : store_(std::move(store)),
      cluster_id_(std::move(cluster_id)),
      certificate_service_(std::move(authority), auth, mutual_tls),
      code_service_(auth),
      // A node dropped from the table (beyond the DEAD nodes kept) leaves no copy behind.
      nodes_(options, &MonotonicNow,
             [this](const std::string& node_id) { objects_.RemoveNode(node_id); }),
      worker_stubs_(token),
      scheduler_service_(nodes_, auth, token),
      actor_manager_(actors_, nodes_, scheduler_service_, worker_stubs_,
                     [this](const std::string& job_id) {
                       auto job = jobs_.Get(job_id);  // unknown: a job of a head before
                       return job.ok() && JobEnded(job->state());
                     }),
      submissions_(
          jobs_, nodes_, scheduler_service_,
          [this](const std::string& sha256) { return code_service_.Has(sha256); },
          [this](const std::string& job_id, const std::string& reason) {
            OnJobEnded(job_id, reason);
          }),
      node_service_(
          nodes_, auth, cluster_id_,
          {.on_node_dead = [this](const std::string& id) { OnNodeDead(id); },
           .on_worker_exit =
               [this](const proto::WorkerInfo& worker) {
                 actor_manager_.OnWorkerExit(worker);
                 scheduler_service_.OnWorkerExit(worker);
                 objects_.RemoveWorker(worker.worker_id());
                 FreeOrphans(objects_.RemoveOwnedBy({worker.job_id(), worker.worker_id()}));
                 submissions_.OnWorkerExit(worker);
               },
           .on_resources_changed = [this] { scheduler_service_.GrantQueued(); },
           .describe_queue =
               [this](proto::ListNodesReply& reply) { scheduler_service_.DescribeQueue(reply); },
           .on_node_back = [this](const proto::NodeInfo& node) { AdoptWorkersOf(node); }}),
      job_service_(jobs_, submissions_, auth,
                   [this](const std::string& job_id, const std::string& reason) {
                     OnJobEnded(job_id, reason);
                   }),
      actor_service_(actors_, actor_manager_, auth),
      object_service_(objects_, auth),
      log_service_(logs_, nodes_, auth, token),
      token_service_(auth, std::move(token),
                     {.store = *store_,
                      .nodes = nodes_,
                      .jobs = jobs_,
                      .authority = certificate_service_.authority()}) {}

void Head::OnJobEnded(const std::string& job_id, const std::string& reason) {
  actor_manager_.OnJobFinished(job_id, reason);
  FreeOrphans(objects_.RemoveOwnedBy({job_id, ""}));  // the driver's
}

void Head::AddServices(grpc::ServerBuilder& builder) {
  builder.RegisterService(&node_service_);
  builder.RegisterService(&job_service_);
  builder.RegisterService(&actor_service_);
  builder.RegisterService(&object_service_);
  builder.RegisterService(&scheduler_service_);
  builder.RegisterService(&log_service_);
  builder.RegisterService(&certificate_service_);
  builder.RegisterService(&code_service_);
  builder.RegisterService(&token_service_);
}

void Head::CheckLiveness() {
  for (const auto& id : nodes_.MarkSilentNodesDead()) OnNodeDead(id);
  job_service_.Tick();
  submissions_.Tick();
  actor_manager_.Tick();
  scheduler_service_.Tick();
}

// The stores keep them until told: nobody else will ever free them.
void Head::FreeOrphans(const ObjectDirectory::Orphans& orphans) {
  for (const auto& [address, ids] : orphans) {
    proto::FreeObjectsRequest request;
    for (const auto& id : ids) request.add_object_ids(id);
    CallAsync<proto::FreeObjectsReply>(
        ContextWithTimeout(kControlRpcTimeout), std::move(request),
        [this, address = address](auto... args) {
          worker_stubs_.Get(address).async()->FreeObjects(args...);
        },
        [address = address, n = ids.size()](const absl::Status& status, const auto&) {
          if (!status.ok()) {
            spdlog::debug("could not free {} objects of an ended owner at {}: {}", n, address,
                          status.message());
          }
        });
  }
}

void Head::AdoptWorkersOf(const proto::NodeInfo& node) {
  // Leased by the dead head (task workers, workers still starting an actor): they end with
  // their jobs as under that head, and at once when their job ended meanwhile.
  scheduler_service_.AdoptWorkersOf(node, [this, node_id = node.node_id()](auto jobs) {
    if (!jobs.ok()) return nodes_.AdoptLater(node_id);  // at its next heartbeat
    for (const auto& job_id : *jobs) {
      const auto job = jobs_.Get(job_id);
      if (job.ok() && !JobEnded(job->state())) continue;
      actor_manager_.OnJobFinished(
          job_id, job.ok() && !job->end_reason().empty() ? job->end_reason() : "its job finished");
    }
  });
}

void Head::OnNodeDead(const std::string& node_id) {
  scheduler_service_.CancelNode(node_id);
  submissions_.OnNodeDead(node_id);
  actor_manager_.OnNodeDead(node_id);  // restarts or ends them, and tells their callers
  const int actors = actors_.MarkNodeDead(node_id);
  const int objects = objects_.RemoveNode(node_id);
  if (actors || objects) {
    spdlog::warn("lost with node id={} actors={} object_copies={}", node_id, actors, objects);
  }
}

}  // namespace weft::head
