// weft::Init and weft::Shutdown: connect a driver to its cluster (or start a local one).

#include <dlfcn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <climits>
#include <cstdlib>
#include <filesystem>
#include <thread>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "client/src/actor_creator.h"
#include "client/src/head_calls.h"
#include "client/src/job_code.h"
#include "client/src/log_subscriber.h"
#include "client/src/runtime.h"
#include "common/certificates.h"
#include "common/cluster_endpoint.h"
#include "common/cluster_tls.h"
#include "common/logging.h"
#include "common/net_address.h"
#include "common/process.h"
#include "common/rpc.h"
#include "common/session_dir.h"
#include "common/status.h"
#include "weft/error.h"
#include "weft/registry.h"
#include "weft/runtime.h"

namespace weft {
namespace {

// Holds the job's KeepJob stream open for the driver's life: if the driver exits without
// Shutdown, the stream breaks and the head fails the job (its non-detached actors die with
// "owner died"). Reads nothing; the head ends the stream once FinishJob is in. A stream broken
// by the head going away (killed, restarting) is opened again, every half second for up to
// kHeadUnavailableWait: a restarted head keeps the job if its driver holds it again in time.
class JobKeeper {
 public:
  JobKeeper(const std::shared_ptr<grpc::Channel>& head, std::string job_id)
      : stub_(proto::JobRegistry::NewStub(head)), job_id_(std::move(job_id)) {
    thread_ = std::thread([this] { Run(); });
  }
  // Ends the stream and waits until gRPC is done with it.
  ~JobKeeper() {
    {
      absl::MutexLock lock(&mu_);
      closing_ = true;
      if (stream_) stream_->context.TryCancel();
    }
    thread_.join();
  }

 private:
  class Stream final : public grpc::ClientReadReactor<proto::KeepJobReply> {
   public:
    Stream(proto::JobRegistry::Stub& stub, const std::string& job_id) {
      request_.set_job_id(job_id);
      stub.async()->KeepJob(&context, &request_, this);
      StartRead(&reply_);
      StartCall();
    }
    void OnReadDone(bool ok) override {
      if (ok) StartRead(&reply_);
    }
    void OnDone(const grpc::Status& status) override {
      absl::MutexLock lock(&mu);
      ended = status;
      done = true;
    }
    grpc::ClientContext context;
    absl::Mutex mu;
    bool done ABSL_GUARDED_BY(mu) = false;
    grpc::Status ended ABSL_GUARDED_BY(mu);

   private:
    proto::KeepJobRequest request_;
    proto::KeepJobReply reply_;
  };

  void Run() {
    internal::StreamReopener reopen;
    for (;;) {
      const auto opened = internal::StreamReopener::Clock::now();
      Stream* stream = nullptr;
      {
        absl::MutexLock lock(&mu_);
        if (closing_) return;
        stream_ = std::make_unique<Stream>(*stub_, job_id_);
        stream = stream_.get();  // only this thread replaces it
      }
      grpc::Status ended;
      {
        absl::MutexLock lock(&stream->mu);
        stream->mu.Await(absl::Condition(&stream->done));
        ended = stream->ended;
      }
      {
        absl::MutexLock lock(&mu_);
        stream_.reset();
        if (closing_ || ended.ok()) return;
      }
      if (ended.error_code() != grpc::StatusCode::UNAVAILABLE) {
        spdlog::error("the head no longer keeps job {}: {}", job_id_, ended.error_message());
        return;
      }
      const auto pause = reopen.Next(opened);
      if (!pause) {
        spdlog::error("head unavailable for {}: job {} may have been failed without its driver",
                      absl::FormatDuration(absl::FromChrono(kHeadUnavailableWait)), job_id_);
        return;
      }
      absl::MutexLock lock(&mu_);
      mu_.AwaitWithTimeout(absl::Condition(&closing_), absl::FromChrono(*pause));
    }
  }

  std::unique_ptr<proto::JobRegistry::Stub> stub_;
  const std::string job_id_;
  absl::Mutex mu_;
  bool closing_ ABSL_GUARDED_BY(mu_) = false;
  std::unique_ptr<Stream> stream_ ABSL_GUARDED_BY(mu_);
  std::thread thread_;
};

struct DriverState {
  std::string embedded_session;                   // session dir of the cluster Init started, if any
  std::unique_ptr<internal::LogSubscriber> logs;  // prints the job's worker output
  std::unique_ptr<JobKeeper> keeper;              // the job lives while this stream does
};
DriverState* driver = nullptr;

// The `weft` CLI that belongs to this library: <prefix>/lib/libweft.so -> <prefix>/bin/weft.
std::string WeftCli() {
  Dl_info info{};
  if (dladdr(reinterpret_cast<const void*>(&WeftCli), &info) && info.dli_fname) {
    auto candidate =
        std::filesystem::path(info.dli_fname).parent_path().parent_path() / "bin" / "weft";
    if (std::filesystem::exists(candidate)) return candidate.string();
  }
  return "weft";
}

void RunCli(const std::vector<std::string>& args) {
  SpawnOptions spawn;
  spawn.argv = args;
  spawn.argv.insert(spawn.argv.begin(), WeftCli());
  auto pid = SpawnProcess(spawn);
  if (!pid.ok())
    throw Error(static_cast<int>(pid.status().code()), std::string(pid.status().message()));
  int status = 0;
  while (waitpid(*pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    throw Error(14, absl::StrCat("`weft ", args.front(), "` failed: ", DescribeWaitStatus(status)));
  }
}

std::string StartEmbeddedCluster() {
  char path[] = "/tmp/weft-embedded-XXXXXX";
  if (!mkdtemp(path)) throw Error(13, "cannot create a session directory for a local cluster");
  // Any free port: the cluster is this program's own (found through its session dir), and two
  // programs that each start one must not collide on the default port.
  // It goes with this program, even if the program is killed before Shutdown.
  RunCli({"start", "--head", "--port", "0", "--session-dir", path, "--exit-with-pid",
          std::to_string(getpid())});
  return path;
}

std::string SelfPath() {
  char path[PATH_MAX] = {};
  const ssize_t n = readlink("/proc/self/exe", path, sizeof(path) - 1);
  return n > 0 ? std::string(path, n) : "driver";
}

std::string RegisterJob(const std::string& head_address, const std::string& token,
                        const internal::Runtime::Config& config,
                        const std::string& driver_address) {
  auto jobs = proto::JobRegistry::NewStub(MakeChannel(head_address, token));
  proto::RegisterJobRequest request;
  request.set_namespace_(config.ns);
  *request.mutable_code() = config.code;
  char host[256] = {};
  gethostname(host, sizeof(host) - 1);
  request.set_driver_host(host);
  request.set_driver_pid(getpid());
  request.set_entrypoint(SelfPath());
  request.set_driver_address(driver_address);
  // A submitted job's driver takes up the job made for it; a program it starts is a job of
  // its own.
  if (const char* job_id = std::getenv("WEFT_JOB_ID"); job_id && *job_id) {
    request.set_job_id(job_id);
    unsetenv("WEFT_JOB_ID");
  }
  grpc::ClientContext context;
  SetTimeout(context, kControlRpcTimeout);
  proto::RegisterJobReply reply;
  const grpc::Status status = jobs->RegisterJob(&context, request, &reply);
  if (!status.ok()) {
    const absl::Status failed = FromGrpcStatus(status);
    throw Error(
        static_cast<int>(failed.code()),
        absl::StrCat("cannot connect to the cluster at ", head_address, ": ", failed.message()));
  }
  SetMaxMessageBytes(static_cast<int>(reply.max_message_bytes()));
  return reply.job().job_id();
}

// Where the cluster's workers reach this driver: its address toward the head, as the other
// machines reach it (loopback for a head on loopback). An error, never loopback, when no route
// to a head beyond it is found.
std::string DriverHost(const ClusterEndpoint& endpoint) {
  auto host = LocalHostToward(ReachedHeadAt(endpoint));
  if (!host.ok()) {
    throw Error(static_cast<int>(host.status().code()),
                absl::StrCat("cannot find this machine's address toward the cluster's head, where "
                             "its workers would reach this driver: ",
                             host.status().message()));
  }
  return *host;
}

// Secures this process's connections to the cluster at `endpoint`, before the first call
// that carries the token. A cluster with TLS: this driver trusts its CA and serves its objects
// under a certificate of it: one the head signs for it (asked with the token), or under
// mutual TLS the endpoint's own (issued on the head's machine), which it also shows as a
// client.
void SecureConnections(const ClusterEndpoint& endpoint, const std::string& host) {
  auto security = ClientSecurityFor(endpoint, InsecureAllowed(), /*learn_mode=*/true);
  if (!security.ok()) {
    throw Error(static_cast<int>(security.status().code()),
                absl::StrCat("cannot join the cluster: ", security.status().message()));
  }
  // Workers reach this driver's objects at `host`: they would refuse a certificate that does
  // not name it. One this process has (given, or its machine's session's) serves if it does.
  const bool own_fits = security->tls() && Certifies(security->cert_pem, host);
  if (security->tls() && !own_fits && !security->mutual) {
    security = JoinClusterTls(endpoint.head_address, endpoint.token, {.ca_pem = security->ca_pem},
                              "weft driver", HostsToCertify(host));
    if (!security.ok()) {
      throw Error(static_cast<int>(security.status().code()),
                  absl::StrCat("cannot join the cluster over TLS: ", security.status().message()));
    }
  } else if (security->tls() && !own_fits) {
    throw Error(static_cast<int>(absl::StatusCode::kInvalidArgument),
                absl::StrCat("the TLS certificate given does not name ", host,
                             ", where the cluster's workers reach this driver: issue one with "
                             "`weft certificate issue --host ",
                             host, "` on the head's machine (or from the operator's CA)"));
  }
  SetTransportSecurity(*std::move(security));
}

}  // namespace

void Init(const InitOptions& options) {
  if (internal::Runtime::Current()) throw Error(9, "weft::Init was already called");
  TurnOffMutexDeadlockDetection();
  PinCallbackQueue();  // before the runtime's first channel
  auto state = std::make_unique<DriverState>();
  std::string session_dir = options.session_dir;
  // "local": a cluster of this program's own even if one runs already, as ray.init("local").
  const bool own_cluster = options.address == "local";
  absl::StatusOr<ClusterEndpoint> endpoint = absl::NotFoundError("no cluster found");
  if (!own_cluster) endpoint = ResolveClusterEndpoint(options.address, session_dir);
  // No cluster to be found is what starts one of this program's own, not a bad setting (a
  // $WEFT_TOKEN that is no token, a $WEFT_TLS_CERT that cannot be read, a cluster whose token
  // is not here): that is an error. Nor does a program told of a cluster's token or CA.
  const auto told = [](const char* name) { return std::getenv(name) && *std::getenv(name); };
  if (own_cluster || (endpoint.status().code() == absl::StatusCode::kNotFound &&
                      options.address.empty() && session_dir.empty() && !told("WEFT_ADDRESS") &&
                      !told("WEFT_TOKEN") && !told("WEFT_TLS_CA") && !told("WEFT_TLS_CERT"))) {
    state->embedded_session = StartEmbeddedCluster();
    endpoint = ResolveClusterEndpoint("", state->embedded_session);
  }
  if (!endpoint.ok()) {
    throw Error(static_cast<int>(endpoint.status().code()),
                absl::StrCat("cannot find the cluster: ", endpoint.status().message()));
  }
  const std::string own_host = DriverHost(*endpoint);
  if (state->embedded_session.empty()) SecureConnections(*endpoint, own_host);
  internal::Runtime::Config config;
  config.head_address = endpoint->head_address;
  config.token = endpoint->token;
  config.ns = options.ns.empty() ? "default" : options.ns;
  // The job's code goes to the cluster before the job exists: no worker waits for it.
  auto code = internal::JobCode();
  if (code.ok()) {
    auto head = proto::CodeStore::NewStub(MakeChannel(config.head_address, config.token));
    if (auto sent = SendCode(*head, *code); !sent.ok()) code = sent;
  }
  if (!code.ok()) {
    throw Error(static_cast<int>(code.status().code()),
                absl::StrCat("cannot send this program's code to the cluster at ",
                             config.head_address, ": ", code.status().message()));
  }
  for (auto& file : *code) *config.code.Add() = std::move(file.library);
  // Stored objects of this machine's nodes of the cluster's session are mapped, not fetched
  // (not those of another cluster's session found by default).
  if (session_dir.empty()) session_dir = state->embedded_session;
  if (session_dir.empty()) session_dir = SessionDir::Default();
  const SessionDir session(session_dir);
  const auto recorded = [](const std::string& path) {
    return std::string(absl::StripAsciiWhitespace(ReadFile(path).value_or("")));
  };
  if (recorded(session.HeadAddressPath()) == endpoint->head_address ||
      recorded(session.HeadAdvertisedAddressPath()) == endpoint->head_address) {
    config.objects_dir = session_dir + "/objects";
  }
  auto installed = std::make_unique<internal::Runtime>(config);
  // Borrowers of this driver's references (workers anywhere in the cluster) ask it here.
  if (auto served = installed->ServeOwnedObjects(own_host); !served.ok()) {
    throw Error(static_cast<int>(served.code()), std::string(served.message()));
  }
  installed->set_job_id(
      RegisterJob(config.head_address, config.token, config, installed->own_address()));
  internal::Runtime::Install(std::move(installed));
  auto& runtime = internal::Runtime::Get();
  state->keeper = std::make_unique<JobKeeper>(runtime.head_channel(), runtime.config().job_id);
  if (options.forward_output) {
    state->logs =
        std::make_unique<internal::LogSubscriber>(runtime.head_channel(), runtime.config().job_id);
  }
  driver = state.release();
}

void Shutdown() {
  if (driver && driver->logs) {
    driver->logs->Flush(std::chrono::seconds(2));  // what the workers printed reaches stdout
    driver->logs.reset();
  }
  auto runtime = internal::Runtime::Uninstall();
  if (runtime) {
    // The actors created last reach the head before the job finishes (and ends them).
    runtime->creator().Flush(kControlRpcTimeout);
    proto::FinishJobRequest request;
    request.set_job_id(runtime->config().job_id);
    grpc::ClientContext context;
    SetTimeout(context, kControlRpcTimeout);
    proto::FinishJobReply reply;
    runtime->jobs().FinishJob(&context, request, &reply);  // best effort: the head may be gone
    if (driver) driver->keeper.reset();  // after FinishJob: a job that finished does not fail
    runtime.reset();
  }
  if (driver) {
    if (!driver->embedded_session.empty()) {
      try {
        RunCli({"stop", "--session-dir", driver->embedded_session});
        std::filesystem::remove_all(driver->embedded_session);
      } catch (const Error&) {
      }
    }
    delete driver;
    driver = nullptr;
  }
}

bool IsInitialized() { return internal::Runtime::Current() != nullptr; }

}  // namespace weft
