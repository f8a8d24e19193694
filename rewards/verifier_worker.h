// File: rewards/verifier_worker.h
// The verifier process's message handling: RewardRequest -> RewardResult, one Reward per item
// in request order. A verifier name the registry does not know, or a failing check, becomes a
// Reward with status "error" and a detail naming it; it never becomes a silent zero. Socket-
// free, so tests drive it message by message.
//
//   VerifierRegistry registry = make_default_registry();
//   VerifierWorker worker(registry);
//   CARAVAN_ASSIGN_OR_RETURN(auto reply, worker.handle(message));   // a RewardResult envelope
#pragma once

#include <memory>

#include <capnp/message.h>

#include "core/status.h"
#include "proto/caravan.capnp.h"
#include "rewards/verifier_registry.h"

namespace caravan::rewards {

proto::RewardStatus to_reward_status(VerdictStatus status);

// Owner thread only. `registry` must outlive the worker.
class VerifierWorker {
 public:
  explicit VerifierWorker(const VerifierRegistry& registry) : registry_(registry) {}

  // kInvalidArgument for a message other than RewardRequest.
  Result<std::unique_ptr<capnp::MallocMessageBuilder>> handle(const proto::Envelope::Reader& message) const;

 private:
  const VerifierRegistry& registry_;
};

} // namespace caravan::rewards
