#include "raylet/raylet.h"

#include <grpcpp/security/server_credentials.h>
#include <grpcpp/server_builder.h>
#include <unistd.h>
#include "common/logging.h"

#include <cerrno>
#include <csignal>

#include "absl/strings/str_cat.h"
#include "common.pb.h"
#include "common/rpc.h"
#include "google/protobuf/util/json_util.h"

namespace weft {

Raylet::Raylet(RayletOptions options)
    : options_(std::move(options)),
      session_(options_.session_dir),
      auth_(options_.token),
      signals_(io_),
      liveness_timer_(io_) {}

absl::Status Raylet::Run() {
  if (auto status = session_.Create(); !status.ok()) return status;
  // Installed before any worker starts, so no child exit goes unnoticed.
  signals_.add(SIGCHLD);
  signals_.add(SIGTERM);
  signals_.add(SIGINT);
  signals_.add(SIGHUP);
  std::signal(SIGPIPE, SIG_IGN);

  if (options_.head) {
    head_ = std::make_unique<head::Head>(
        head::NodeDirectory::Options{.heartbeat_period = options_.heartbeat_period,
                                     .node_timeout = options_.node_timeout,
                                     .stall_threshold = options_.node_timeout / 2},
        auth_, options_.token);
  }
  if (options_.local_node) node_ = std::make_unique<node::Node>(io_, options_, auth_, session_);
  if (auto status = StartServer(); !status.ok()) return status;

  const std::string head_address = options_.head ? address_ : options_.head_address;
  if (node_) {
    auto on_fatal = [this](absl::Status why) { Stop(std::move(why)); };
    if (auto status = node_->Start(address_, head_address, on_fatal); !status.ok()) {
      server_->Shutdown();
      return status;
    }
  }
  if (head_) ScheduleLivenessCheck();
  if (auto status = WriteSessionFiles(); !status.ok()) {
    Shutdown();
    return status;
  }
  WaitForSignals();
  SignalReady();
  spdlog::info("raylet ready address={} head={} node={} session_dir={}", address_, options_.head,
               node_ ? node_->id() : "none", session_.root());
  io_.run();
  Shutdown();
  return exit_status_;
}

absl::Status Raylet::StartServer() {
  grpc::ServerBuilder builder;
  AllowKeepalive(builder);
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);  // a taken port is an error
  int port = 0;
  builder.AddListeningPort(JoinHostPort(options_.host, options_.port),
                           grpc::InsecureServerCredentials(), &port);
  if (head_) head_->AddServices(builder);
  if (node_) node_->AddServices(builder);
  server_ = builder.BuildAndStart();
  if (!server_ || port == 0) {
    return absl::UnavailableError(absl::StrCat(
        "cannot listen on ", JoinHostPort(options_.host, options_.port), " (address in use?)"));
  }
  address_ = JoinHostPort(AdvertisedHost(options_.host), port);
  return absl::OkStatus();
}

absl::Status Raylet::WriteSessionFiles() {
  if (head_) {
    auto status = WriteFileAtomic(session_.HeadAddressPath(), address_ + "\n");
    if (!status.ok()) return status;
  } else if (!options_.head_address.empty()) {
    auto status = WriteFileAtomic(session_.HeadAddressPath(), options_.head_address + "\n");
    if (!status.ok()) return status;
  }
  proto::NodeInfo record = node_ ? node_->Info() : proto::NodeInfo();
  record.set_address(address_);
  record.set_is_head(options_.head);
  record.set_raylet_pid(getpid());
  record.set_session_dir(session_.root());
  std::string json;
  google::protobuf::util::MessageToJsonString(record, &json);
  auto lock = session_.WriteRayletRecord(getpid(), json + "\n");
  if (!lock.ok()) return lock.status();
  record_lock_ = *lock;  // held until exit: weft stop trusts only locked records
  return absl::OkStatus();
}

void Raylet::SignalReady() {
  if (options_.ready_fd < 0) return;
  const std::string line = address_ + "\n";
  ssize_t written;
  do {
    written = write(options_.ready_fd, line.data(), line.size());
  } while (written < 0 && errno == EINTR);  // asio's signal handlers do not restart syscalls
  if (written < 0) spdlog::warn("cannot write to ready fd={}", options_.ready_fd);
  close(options_.ready_fd);
}

void Raylet::WaitForSignals() {
  signals_.async_wait([this](const std::error_code& error, int signal) {
    if (error) return;
    if (signal == SIGCHLD) {
      if (node_) node_->OnChildExited();
      WaitForSignals();
      return;
    }
    spdlog::info("raylet stopping signal={}", signal);
    Stop(absl::OkStatus());
  });
}

void Raylet::ScheduleLivenessCheck() {
  liveness_timer_.expires_after(absl::ToChronoMilliseconds(options_.heartbeat_period / 2));
  liveness_timer_.async_wait([this](const std::error_code& error) {
    if (error) return;
    head_->CheckLiveness();
    ScheduleLivenessCheck();
  });
}

void Raylet::Stop(absl::Status why) {
  exit_status_ = std::move(why);
  io_.stop();
}

void Raylet::Shutdown() {
  if (node_) {
    node_->Stop(exit_status_.ok() ? "raylet stopped" : std::string(exit_status_.message()));
  }
  if (head_) {
    head_->CancelLeases();
    head_->CloseLogStreams();
  }
  if (server_) server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
  std::remove(session_.RayletRecordPath(getpid()).c_str());
  spdlog::info("raylet stopped status=\"{}\"", exit_status_.ToString());
}

}  // namespace weft
