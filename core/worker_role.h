// File: core/worker_role.h
// What a worker process does with the controller's requests, as seen by its WorkerSession: the
// session's socket thread hands each request to accept(), which must return quickly; the work
// runs on the role's own threads, which post replies and per-request errors to the role's
// Outbox. The session reads policy_version() and active_requests() for every heartbeat.
// Implementations: the rollout actor (actors/rollout/rollout_actor.h), the verifier
// (rewards/verifier_worker.h) and SerialRole (core/serial_role.h, the learner).
#pragma once

#include <chrono>
#include <cstdint>
#include <vector>

#include "core/status.h"
#include "proto/caravan.capnp.h"

namespace caravan::core {

class WorkerRole {
 public:
  virtual ~WorkerRole() = default;

  // Socket thread. Takes one request (never Heartbeat or Shutdown: the session handles those).
  // Must not block on work: queue it and return. The reader dies when accept() returns, so
  // whatever is kept must be copied. An error fails that request only (the session sends
  // ErrorReply{requestId}); a role that can no longer serve calls Outbox::fail instead.
  virtual Status accept(const proto::Envelope::Reader& message) = 0;

  // Thread-safe. The policy version of the weights the role holds now (0 without weights).
  virtual uint64_t policy_version() const = 0;
  // Thread-safe. Ids of the requests accepted and not answered yet.
  virtual std::vector<uint64_t> active_requests() const = 0;

  // Any thread, once serving has ended. Stops the role's threads and waits up to `grace` for
  // them; false when one is still busy (a computation or a collective that does not observe
  // stop). The role must then not be destroyed: the caller ends the process (std::_Exit).
  virtual bool stop_within(std::chrono::milliseconds grace) = 0;
};

} // namespace caravan::core
