#include "common/actor_listing.h"

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace weft {
namespace {

constexpr char kKnownKeys[] = "state, class, name, node, job";

bool Matches(const ActorFilterTerm& filter, const proto::ActorInfo& actor) {
  if (filter.key == "state") return ActorStateName(actor.state()) == filter.value;
  if (filter.key == "class") return actor.class_name() == filter.value;
  if (filter.key == "name") return actor.name() == filter.value;
  if (filter.key == "node") return absl::StartsWith(actor.node_id(), filter.value);
  return actor.job_id() == filter.value;  // "job": ParseActorFilter admits no other key
}

}  // namespace

const char* ActorStateName(proto::ActorState state) {
  switch (state) {
    case proto::ACTOR_PENDING:
      return "PENDING";
    case proto::ACTOR_ALIVE:
      return "ALIVE";
    case proto::ACTOR_RESTARTING:
      return "RESTARTING";
    case proto::ACTOR_DEAD:
      return "DEAD";
    default:
      return "UNKNOWN";
  }
}

absl::StatusOr<ActorFilterTerm> ParseActorFilter(const std::string& text) {
  const size_t eq = text.find('=');
  if (eq == std::string::npos || eq == 0 || eq + 1 == text.size()) {
    return absl::InvalidArgumentError(
        absl::StrCat("filter '", text, "' is not key=value (keys: ", kKnownKeys, ")"));
  }
  ActorFilterTerm filter{absl::AsciiStrToLower(text.substr(0, eq)),
                         std::string(text.substr(eq + 1))};
  if (filter.key == "state") {
    filter.value = absl::AsciiStrToUpper(filter.value);
    for (auto state :
         {proto::ACTOR_PENDING, proto::ACTOR_ALIVE, proto::ACTOR_RESTARTING, proto::ACTOR_DEAD}) {
      if (ActorStateName(state) == filter.value) return filter;
    }
    return absl::InvalidArgumentError(absl::StrCat("unknown actor state '", text.substr(eq + 1),
                                                   "' (PENDING, ALIVE, RESTARTING, DEAD)"));
  }
  for (const char* key : {"class", "name", "node", "job"}) {
    if (filter.key == key) return filter;
  }
  return absl::InvalidArgumentError(
      absl::StrCat("unknown filter key '", text.substr(0, eq), "' (keys: ", kKnownKeys, ")"));
}

bool MatchesAll(const std::vector<ActorFilterTerm>& terms, const proto::ActorInfo& actor) {
  for (const auto& term : terms) {
    if (!Matches(term, actor)) return false;
  }
  return true;
}

absl::StatusOr<proto::ActorInfo> SelectByIdPrefix(const std::vector<proto::ActorInfo>& actors,
                                                  const std::string& prefix) {
  std::vector<const proto::ActorInfo*> matches;
  for (const auto& actor : actors) {
    if (actor.actor_id() == prefix) return actor;
    if (!prefix.empty() && absl::StartsWith(actor.actor_id(), prefix)) matches.push_back(&actor);
  }
  if (matches.empty()) return absl::NotFoundError(absl::StrCat("actor ", prefix, " not found"));
  if (matches.size() > 1) {
    return absl::InvalidArgumentError(absl::StrCat(
        "actor id prefix ", prefix, " is ambiguous: it matches ",
        absl::StrJoin(matches, ", ",
                      [](std::string* out, const auto* a) { out->append(a->actor_id()); })));
  }
  return *matches.front();
}

absl::StatusOr<std::vector<proto::ActorInfo>> ListAllActors(
    const ActorPageCall& ask, int page_size, const std::vector<ActorFilterTerm>& terms) {
  std::vector<proto::ActorInfo> actors;
  proto::ListActorsRequest request;
  request.set_page_size(page_size);
  do {
    proto::ListActorsReply reply;
    if (absl::Status status = ask(request, &reply); !status.ok()) return status;
    for (auto& actor : *reply.mutable_actors()) {
      if (MatchesAll(terms, actor)) actors.push_back(std::move(actor));
    }
    if (!reply.next_page_token().empty() && reply.next_page_token() <= request.page_token()) {
      return absl::InternalError(absl::StrCat("page token '", reply.next_page_token(),
                                              "' answered after '", request.page_token(),
                                              "' does not move on"));
    }
    request.set_page_token(reply.next_page_token());
  } while (!request.page_token().empty());
  return actors;
}

}  // namespace weft
