#pragma once

// The cluster's state from code, as `weft list actors` and `weft status` show it (Ray's
// ray.util.state): where an actor runs and in what state, every actor that passes a filter,
// and the nodes. Blocking calls to the head (and, for call counts, to the actors' workers);
// usable between weft::Init and weft::Shutdown, in drivers and inside actors and tasks.

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "weft/actor.h"
#include "weft/cluster.h"

namespace weft {

enum class ActorState {
  kPending,     // not placed yet: see ActorInfo::pending_reason
  kAlive,       // serving calls at ActorInfo::address
  kRestarting,  // its worker died and it is being created again (max_restarts)
  kDead,        // see ActorInfo::death_reason
};

// "PENDING", "ALIVE", "RESTARTING", "DEAD": the names the CLI prints and filters on.
std::string_view ToString(ActorState state);

// What the actor's worker counts, as `weft list actors` shows them.
struct ActorCallCounts {
  int64_t running = 0;   // calls executing now
  int64_t queued = 0;    // calls received and waiting for their turn
  int64_t finished = 0;  // calls the actor has answered since it started
};

// One actor as the head's actor directory records it: the fields of `weft list actors
// --format json`, under the same names.
struct ActorInfo {
  std::string actor_id;
  std::string class_name;
  std::string name;  // empty for an anonymous actor
  std::string ns;    // its namespace
  ActorState state = ActorState::kPending;
  std::string pending_reason;  // why a PENDING actor is not placed yet
  std::string death_reason;    // why a DEAD actor died
  std::string job_id;          // the job that created it
  std::string node_id;         // where it runs (empty while PENDING)
  std::string worker_id;
  std::string address;   // host:port of its worker
  int pid = 0;           // its worker's process id
  std::string executor;  // "async" or "thread_pool", known once ALIVE
  int max_concurrency = 0;
  int num_restarts = 0;
  int max_restarts = 0;
  bool detached = false;
  std::map<std::string, double> resources;  // what it holds while alive ("CPU", custom)
  std::chrono::system_clock::time_point created;
  // Counted by its worker: set for an ALIVE actor whose worker answered within a second.
  std::optional<ActorCallCounts> calls;
};

// Which actors ListActors returns: every field set must match (empty fields match anything).
struct ActorFilter {
  std::optional<ActorState> state;
  std::string class_name;
  std::string name;
  std::string node_id;  // a node id or a prefix of one
  std::string job_id;
};

// The actor with that id. Throws weft::Error: NOT_FOUND for an id the head does not know,
// UNAVAILABLE when the head stays unreachable.
ActorInfo GetActorInfo(const std::string& actor_id);

template <class C>
ActorInfo GetActorInfo(const ActorHandle<C>& actor) {
  return GetActorInfo(actor.id());
}

// Every actor the head knows (alive and dead, of every job) that passes `filter`, in the order
// of their ids. Throws weft::Error (UNAVAILABLE when the head stays unreachable).
std::vector<ActorInfo> ListActors(const ActorFilter& filter = {});

// Every node the head knows, alive and dead, oldest first. Throws weft::Error.
std::vector<NodeInfo> ListNodes();

}  // namespace weft
