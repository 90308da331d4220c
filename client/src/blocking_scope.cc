#include "client/src/blocking_scope.h"

#include <atomic>
#include <memory>

#include "absl/synchronization/mutex.h"
#include "common/logging.h"
#include "common/rpc.h"
#include "common/status.h"
#include "node.grpc.pb.h"

namespace weft::internal {
namespace {

// The node is local: a notification that takes longer than this is given up.
constexpr std::chrono::milliseconds kNotifyTimeout{2000};

// The process's link to its node. The lock is held across the notification so that "blocked"
// and "running" reach the node in the order the waits began and ended.
class NodeNotifier {
 public:
  void Configure(const std::string& node_address, const std::string& worker_id,
                 const std::string& token) {
    absl::MutexLock lock(&mu_);
    stub_ = proto::NodeManager::NewStub(MakeChannel(node_address, token));
    worker_id_ = worker_id;
    configured_.store(true, std::memory_order_release);
  }

  // True when this scope counts (and must call Leave). A driver's waits cost no lock.
  bool Enter() {
    if (!configured_.load(std::memory_order_acquire)) return false;
    absl::MutexLock lock(&mu_);
    if (!stub_ || !holds_cpu_) return false;
    if (waiting_++ == 0) Notify(true);
    return true;
  }

  void Leave() {
    absl::MutexLock lock(&mu_);
    if (--waiting_ == 0 && holds_cpu_) Notify(false);
  }

 private:
  void Notify(bool blocked) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    grpc::ClientContext context;
    SetTimeout(context, kNotifyTimeout);
    proto::NotifyWorkerBlockedRequest request;
    request.set_worker_id(worker_id_);
    request.set_blocked(blocked);
    proto::NotifyWorkerBlockedReply reply;
    const absl::Status status =
        FromGrpcStatus(stub_->NotifyWorkerBlocked(&context, request, &reply));
    if (!status.ok()) {
      spdlog::warn("cannot tell the node worker={} blocked={}: {}", worker_id_, blocked,
                   status.message());
      return;
    }
    // A worker's lease never changes: one that holds no CPU need not tell again.
    if (!reply.holds_cpu()) holds_cpu_ = false;
  }

  std::atomic<bool> configured_{false};
  absl::Mutex mu_;
  std::unique_ptr<proto::NodeManager::Stub> stub_ ABSL_GUARDED_BY(mu_);
  std::string worker_id_ ABSL_GUARDED_BY(mu_);
  bool holds_cpu_ ABSL_GUARDED_BY(mu_) = true;
  int waiting_ ABSL_GUARDED_BY(mu_) = 0;
};

NodeNotifier& Notifier() {
  static auto* notifier = new NodeNotifier();  // never destroyed: scopes may end at exit
  return *notifier;
}

}  // namespace

BlockingScope::BlockingScope(bool may_block) : active_(may_block && Notifier().Enter()) {}

BlockingScope::~BlockingScope() {
  if (active_) Notifier().Leave();
}

void BlockingScope::ConfigureWorker(const std::string& node_address, const std::string& worker_id,
                                    const std::string& token) {
  Notifier().Configure(node_address, worker_id, token);
}

}  // namespace weft::internal
