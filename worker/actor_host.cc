#include "worker/actor_host.h"

#include <unistd.h>

#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/logging.h"
#include "worker/exception_info.h"

namespace weft::worker {

ActorHost::~ActorHost() {
  absl::flat_hash_map<std::string, std::shared_ptr<Hosted>> actors;
  {
    absl::MutexLock lock(&mu_);
    actors.swap(actors_);
  }
  for (auto& [id, hosted] : actors) hosted->executor->Stop();
}

void ActorHost::Create(const proto::ActorSpec& spec, uint32_t incarnation, Created done) {
  if (auto loaded = code_.Load(spec.code()); !loaded.ok()) return done(loaded);
  const internal::ClassInfo* cls = internal::FindClass(spec.class_name());
  if (!cls) {
    return done(absl::NotFoundError(absl::StrCat(
        "actor class ", spec.class_name(), " is not registered in this worker (libraries: ",
        spec.code().empty()
            ? "none"
            : absl::StrJoin(spec.code(), ", ",
                            [](std::string* out, const proto::CodeLibrary& library) {
                              out->append(library.name());
                            }),
        ")")));
  }
  if (!cls->construct) {
    return done(absl::InvalidArgumentError(
        absl::StrCat("actor class ", cls->name, " has no registered constructor")));
  }
  if (std::string error = internal::ConcurrencyGroupsError(*cls); !error.empty()) {
    return done(absl::InvalidArgumentError(error));
  }
  bool replaced = false;
  {
    absl::MutexLock lock(&mu_);
    auto it = actors_.find(spec.actor_id());
    replaced = it != actors_.end() && it->second->incarnation != incarnation;
  }
  if (replaced) (void)Destroy(spec.actor_id(), "replaced by its restart");
  auto hosted = std::make_shared<Hosted>();
  hosted->spec = spec;
  hosted->incarnation = incarnation;
  hosted->cls = cls;
  hosted->executor = ActorExecutor::For(*cls, spec.max_concurrency());
  hosted->awaiting.push_back(std::move(done));
  {
    absl::ReleasableMutexLock lock(&mu_);
    if (auto [it, added] = actors_.emplace(spec.actor_id(), hosted); !added) {
      // Hosted already (a restarted head asks again): its constructor does not run twice,
      // and this executor is not needed.
      std::optional<proto::ConstructActorReply> reply = it->second->constructed;
      if (!reply) it->second->awaiting.push_back(std::move(hosted->awaiting.front()));
      lock.Release();
      hosted->executor->Stop();
      if (reply) hosted->awaiting.front()(std::move(*reply));
      return;
    }
    destroyed_.erase(spec.actor_id());  // a restart of an actor destroyed here earlier
  }
  hosted->executor->Post([this, hosted]() mutable {
    absl::StatusOr<proto::ConstructActorReply> answer;
    try {
      hosted->instance = hosted->cls->construct(hosted->spec.constructor_args());
      proto::ConstructActorReply reply;
      reply.set_executor(hosted->executor->kind());
      reply.set_max_concurrency(hosted->executor->max_concurrency());
      reply.set_pid(getpid());
      spdlog::info("actor created id={} class={} executor={} max_concurrency={}",
                   hosted->spec.actor_id(), hosted->cls->name, reply.executor(),
                   reply.max_concurrency());
      answer = std::move(reply);
    } catch (...) {
      const auto info = DescribeException(std::current_exception());
      answer = absl::UnknownError(absl::StrCat("constructor of ", hosted->cls->name, " threw ",
                                               info.type, ": ", info.message));
    }
    std::vector<Created> awaiting;
    {
      absl::MutexLock lock(&mu_);
      if (answer.ok()) {
        hosted->constructed = *answer;
      } else if (auto it = actors_.find(hosted->spec.actor_id());
                 it != actors_.end() && it->second == hosted) {
        actors_.erase(it);
      }
      awaiting.swap(hosted->awaiting);
    }
    for (auto& done : awaiting) done(answer);
    if (!answer.ok()) {
      // This closure may hold the actor's last reference, and an executor must not be
      // destroyed on one of its own calls (it waits for them): the stop and the release
      // happen elsewhere.
      std::thread([hosted = std::move(hosted)] { hosted->executor->Stop(); }).detach();
    }
  });
}

absl::Status ActorHost::Destroy(const std::string& actor_id, const std::string& reason) {
  std::shared_ptr<Hosted> hosted;
  std::vector<Created> awaiting;
  const std::string why = reason.empty() ? "killed" : reason;
  {
    absl::MutexLock lock(&mu_);
    auto it = actors_.find(actor_id);
    if (it == actors_.end())
      return absl::NotFoundError(absl::StrCat("actor ", actor_id, " is not hosted here"));
    hosted = std::move(it->second);
    actors_.erase(it);
    awaiting.swap(hosted->awaiting);  // its constructor may never run now
    destroyed_[actor_id] = Tombstone{hosted->cls->name, why};
    destroyed_order_.push_back(actor_id);
    if (destroyed_order_.size() > kTombstones) {
      destroyed_.erase(destroyed_order_.front());
      destroyed_order_.pop_front();
    }
  }
  absl::flat_hash_map<uint64_t, Fail> unfinished;
  {
    absl::MutexLock lock(&hosted->calls_mu);
    hosted->destroyed = true;
    unfinished.swap(hosted->unfinished);
  }
  const absl::Status dead = absl::UnavailableError(
      absl::StrCat("actor ", actor_id, " (", hosted->cls->name, ") is dead: ", why));
  for (auto& [number, fail] : unfinished) fail(dead);
  for (auto& done : awaiting) done(dead);
  // Stopping joins the executor's threads: not on a gRPC thread for long-running calls.
  std::thread([hosted] {
    hosted->executor->Stop();
    if (hosted->instance) hosted->cls->destroy(hosted->instance);
  }).detach();
  spdlog::info("actor destroyed id={} calls_failed={} reason=\"{}\"", actor_id, unfinished.size(),
               why);
  return absl::OkStatus();
}

absl::Status ActorHost::Call(const std::string& actor_id, const std::string& method,
                             const std::string& group, std::string args, ActorExecutor::Token token,
                             ActorExecutor::Finish finish, Fail fail) {
  std::shared_ptr<Hosted> hosted;
  {
    absl::MutexLock lock(&mu_);
    auto it = actors_.find(actor_id);
    if (it == actors_.end()) {
      if (auto dead = destroyed_.find(actor_id); dead != destroyed_.end()) {
        return absl::UnavailableError(absl::StrCat(
            "actor ", actor_id, " (", dead->second.class_name, ") is dead: ", dead->second.reason));
      }
      return absl::NotFoundError(absl::StrCat("actor ", actor_id, " is not hosted here"));
    }
    hosted = it->second;
    // A restart placed on this worker, reached by a caller that still knew the old copy here:
    // it asks the head again (its instance does not exist yet).
    if (!hosted->constructed) {
      return absl::UnavailableError(absl::StrCat("actor ", actor_id, " (", hosted->cls->name,
                                                 ") is still being constructed here"));
    }
  }
  for (const auto& m : hosted->cls->methods) {
    if (m.name != method) continue;
    const std::string& wanted = group.empty() ? m.group : group;
    const int group_index = hosted->executor->GroupIndex(wanted);
    if (group_index < 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("actor class ", hosted->cls->name, " has no concurrency group \"", wanted,
                       "\" (declare it with .ConcurrencyGroup(\"", wanted, "\", N))"));
    }
    uint64_t number = 0;
    {
      absl::MutexLock lock(&hosted->calls_mu);
      if (hosted->destroyed) break;  // destroyed meanwhile: the tombstone answers below
      number = hosted->next_call++;
      hosted->unfinished.emplace(number, std::move(fail));
    }
    // `hosted` stays alive in the closure until the call is done.
    hosted->executor->Run(
        m, hosted->instance, std::move(args),
        [hosted, number, finish = std::move(finish)](internal::PackedResult value,
                                                     std::exception_ptr error) {
          {
            absl::MutexLock lock(&hosted->calls_mu);
            if (!hosted->unfinished.erase(number)) return;  // failed already by Destroy
          }
          finish(std::move(value), error);
        },
        group_index, std::move(token));
    return absl::OkStatus();
  }
  {
    absl::MutexLock lock(&hosted->calls_mu);
    if (hosted->destroyed) {
      return absl::UnavailableError(
          absl::StrCat("actor ", actor_id, " (", hosted->cls->name, ") is dead"));
    }
  }
  return absl::NotFoundError(
      absl::StrCat("actor class ", hosted->cls->name, " has no method ", method));
}

std::string ActorHost::ClassOf(const std::string& actor_id) {
  absl::MutexLock lock(&mu_);
  if (auto it = actors_.find(actor_id); it != actors_.end()) return it->second->cls->name;
  if (auto it = destroyed_.find(actor_id); it != destroyed_.end()) return it->second.class_name;
  return "";
}

std::vector<proto::ActorStats> ActorHost::Stats() {
  absl::MutexLock lock(&mu_);
  std::vector<proto::ActorStats> out;
  for (const auto& [id, hosted] : actors_) {
    const auto stats = hosted->executor->stats();
    proto::ActorStats s;
    s.set_actor_id(id);
    s.set_running(stats.running);
    s.set_queued(stats.queued);
    s.set_finished(stats.finished);
    out.push_back(std::move(s));
  }
  return out;
}

}  // namespace weft::worker
