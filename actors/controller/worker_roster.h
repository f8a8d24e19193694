// File: actors/controller/worker_roster.h
// Who is alive among the run's workers, measured apart from how long their work takes: a worker
// is alive from its Hello until it has been silent for the heartbeat timeout (workers send
// heartbeats while they work), its connection is gone, or it says Hello again (a restarted
// process: a new incarnation, whose predecessor's work is lost). A dead incarnation stays dead;
// only a new Hello brings the worker back.
//
//   WorkerRoster roster({"learner-0", "rollout-0", "verifier-0"}, 20s);
//   switch (roster.on_message(peer, envelope, now)) { case Heard::kJoined: ... }
//   for (const std::string& lost : roster.expire(now)) requeue_work_of(lost);
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "actors/controller/worker_link.h"
#include "proto/caravan.capnp.h"

namespace caravan::controller {

struct WorkerState {
  proto::Role role = proto::Role::ROLLOUT;
  uint32_t rank = 0;
  bool alive = false;
  // Hellos received from this identity: 1 for the first process, +1 per restart.
  uint64_t incarnation = 0;
  uint32_t pid = 0;
  // Where the run reaches it, and the port of the service it offers (the learner's weight-sync
  // store), as its Hello said.
  std::string host;
  uint32_t service_port = 0;
  Clock::time_point last_heard{};
  // As its last heartbeat said.
  uint64_t policy_version = 0;
};

// Owner thread only.
class WorkerRoster {
 public:
  // `workers`: the identities the run expects ("rollout-0", ...: core::worker_identity).
  WorkerRoster(const std::vector<std::string>& workers, std::chrono::milliseconds heartbeat_timeout);

  enum class Heard {
    kUnknown,   // not a worker of this run (ignore the message)
    kJoined,    // Hello of a new incarnation (the previous one, if alive, is replaced)
    kAlive,     // any other message of a living incarnation
    kDead,      // a message of an incarnation already declared dead (ignore it; it should exit)
  };
  Heard on_message(const std::string& peer, const proto::Envelope::Reader& message, Clock::time_point now);

  // Declares dead every living worker silent for longer than the heartbeat timeout; returns them.
  std::vector<std::string> expire(Clock::time_point now);
  // Declares `worker` dead now (its connection is gone). False when it already was.
  bool mark_dead(const std::string& worker);

  bool knows(const std::string& worker) const { return workers_.count(worker) > 0; }
  bool alive(const std::string& worker) const;
  const WorkerState& state(const std::string& worker) const;
  // Living workers of `role`, by rank.
  std::vector<std::string> alive_with_role(proto::Role role) const;
  // Every expected worker of `role`, by rank.
  std::vector<std::string> with_role(proto::Role role) const;
  // Workers that never said Hello.
  std::vector<std::string> never_joined() const;
  // Restarts so far: Hellos beyond the first, summed over the workers.
  uint64_t restarts() const;

 private:
  std::map<std::string, WorkerState> workers_;
  std::chrono::milliseconds heartbeat_timeout_;
};

} // namespace caravan::controller
