#include "worker/code_loader.h"

#include <dlfcn.h>

#include "absl/strings/str_cat.h"
#include "common/loaded_libraries.h"
#include "common/logging.h"
#include "common/rpc.h"
#include "common/status.h"

namespace weft::worker {
namespace {

// How long the node may take to provide a library (fetching it from the head first: it gives
// up after 40 s). Within the head's wait for an actor's construction (60 s).
constexpr auto kProvideTimeout = std::chrono::seconds(50);

}  // namespace

proto::NodeManager::Stub& CodeLoader::Node() {
  absl::MutexLock lock(&mu_);
  if (!node_) node_ = proto::NodeManager::NewStub(MakeChannel(node_address_, token_));
  return *node_;  // lives as long as the loader
}

absl::Status CodeLoader::LoadOne(const proto::CodeLibrary& library) {
  if (HasLoadedLibrary(library.name())) {
    spdlog::info("code library already here name={}", library.name());
    return absl::OkStatus();
  }
  grpc::ClientContext context;
  SetTimeout(context, kProvideTimeout);
  proto::ProvideCodeRequest request;
  *request.mutable_library() = library;
  proto::ProvideCodeReply reply;
  if (auto status = FromGrpcStatus(Node().ProvideCode(&context, request, &reply)); !status.ok()) {
    return absl::Status(status.code(), absl::StrCat("cannot load code library ", library.name(),
                                                    ": ", status.message()));
  }
  // Kept loaded for the process's life: actors and their static registrations live in it.
  if (!dlopen(reply.path().c_str(), RTLD_NOW | RTLD_GLOBAL)) {
    return absl::InvalidArgumentError(
        absl::StrCat("cannot load code library ", library.name(), ": ", dlerror()));
  }
  spdlog::info("loaded code library name={} path={}", library.name(), reply.path());
  return absl::OkStatus();
}

absl::Status CodeLoader::Load(const google::protobuf::RepeatedPtrField<proto::CodeLibrary>& code) {
  for (const auto& library : code) {
    const std::string& sha = library.sha256();
    {
      absl::MutexLock lock(&mu_);
      while (loading_.contains(sha)) done_.Wait(&mu_);
      if (loaded_.contains(sha)) continue;
      loading_.insert(sha);
    }
    const absl::Status loaded = LoadOne(library);  // outside the lock: it may wait on the node
    absl::MutexLock lock(&mu_);
    loading_.erase(sha);
    if (loaded.ok()) loaded_.insert(sha);
    done_.SignalAll();
    if (!loaded.ok()) return loaded;
  }
  return absl::OkStatus();
}

}  // namespace weft::worker
