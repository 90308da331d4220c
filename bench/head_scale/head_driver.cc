#include "bench/head_scale/head_driver.h"

#include <unistd.h>

#include <algorithm>
#include <thread>

#include "absl/strings/str_cat.h"
#include "common/ids.h"

namespace weft::bench {

std::string NameOf(int64_t i) { return absl::StrCat("actor-", i); }

absl::StatusOr<std::string> RegisterJob(proto::JobRegistry::Stub& jobs) {
  proto::RegisterJobRequest request;
  request.set_driver_host("localhost");
  request.set_driver_pid(getpid());
  request.set_entrypoint("weft-head-scale");
  proto::RegisterJobReply job;
  grpc::ClientContext context;
  if (auto status = jobs.RegisterJob(&context, request, &job); !status.ok()) {
    return absl::UnavailableError("RegisterJob: " + status.error_message());
  }
  return job.job().job_id();
}

absl::StatusOr<Listing> ListAll(proto::ActorDirectory::Stub& actors, std::vector<double>* page_us) {
  Listing listing;
  std::vector<double> ignored;
  proto::ListActorsRequest list;
  list.set_page_size(1000);
  for (int pages = 0; pages < 100000; ++pages) {
    proto::ListActorsReply reply;
    const auto status = Timed(
        [&](grpc::ClientContext& context) { return actors.ListActors(&context, list, &reply); },
        page_us ? *page_us : ignored);
    if (!status.ok()) return absl::UnavailableError("ListActors: " + status.error_message());
    listing.listed += reply.actors_size();
    for (const auto& actor : reply.actors()) listing.alive += actor.state() == proto::ACTOR_ALIVE;
    if (reply.next_page_token().empty()) break;
    list.set_page_token(reply.next_page_token());
  }
  return listing;
}

absl::Status ActorCreation::CreateUntil(int count) {
  while (static_cast<int>(ids_.size()) < count) {
    proto::CreateActorsRequest request;
    const int first = static_cast<int>(ids_.size());
    for (int i = first; i < std::min(count, first + batch_); ++i) {
      proto::ActorSpec& spec = *request.add_creations()->mutable_spec();
      spec.set_actor_id(RandomHex(8));
      spec.set_class_name("Simulated");
      spec.set_job_id(job_id_);
      spec.set_constructor_args(std::string("\x90", 1));  // msgpack: no arguments
      spec.set_namespace_("default");
      if (i < kNamedActors) spec.set_name(NameOf(i));
      ids_.push_back(spec.actor_id());
    }
    const auto now = Clock::now();
    for (int i = first; i < static_cast<int>(ids_.size()); ++i) sent_at_[ids_[i]] = now;
    proto::CreateActorsReply reply;
    const auto status = Timed(
        [&](grpc::ClientContext& context) {
          return actors_.CreateActors(&context, request, &reply);
        },
        batch_us_);
    if (!status.ok()) return absl::UnavailableError("CreateActors: " + status.error_message());
    if (reply.answers_size() != request.creations_size()) {
      return absl::DataLossError(absl::StrCat("CreateActors answered ", reply.answers_size(),
                                              " of ", request.creations_size(), " creations"));
    }
    for (const auto& answer : reply.answers()) {
      if (answer.code() != 0) return absl::UnavailableError("CreateActors: " + answer.message());
    }
  }
  while (nodes_.constructed() < count && Clock::now() < deadline_) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  if (nodes_.constructed() < count) {
    return absl::DeadlineExceededError(
        absl::StrCat(nodes_.constructed(), " of ", count, " actors constructed in 10 minutes"));
  }
  int64_t alive = 0;
  while (Clock::now() < deadline_) {
    auto listing = ListAll(actors_);
    if (!listing.ok()) return listing.status();
    alive = listing->alive;
    if (alive >= count) return absl::OkStatus();
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return absl::DeadlineExceededError(
      absl::StrCat(alive, " of ", count, " actors ALIVE in 10 minutes"));
}

std::vector<double> ActorCreation::SentToConstructedUs() const {
  std::vector<double> us;
  us.reserve(ids_.size());
  for (const auto& [id, at] : nodes_.ConstructedAt()) {
    if (auto sent = sent_at_.find(id); sent != sent_at_.end()) {
      us.push_back(Seconds(at - sent->second) * 1e6);
    }
  }
  return us;
}

}  // namespace weft::bench
