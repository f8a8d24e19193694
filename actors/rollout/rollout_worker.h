// File: actors/rollout/rollout_worker.h
// The rollout actor's message handling: RolloutRequest -> Completion (sampled with
// rollout::generate, every sample tagged with the policy version that produced it) and
// SyncWeights -> WeightsSynced (new weights arrive between requests through the injected
// WeightTransport). Socket-free, so tests drive it message by message.
//
//   RolloutWorker worker(model, transport, {.stop_ids = encoder.stop_ids(), .pad_id = tok.pad_id()});
//   CARAVAN_ASSIGN_OR_RETURN(auto reply, worker.handle(message));  // a Completion envelope
//   CARAVAN_RETURN_IF_ERROR(session.send(*reply));
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include <capnp/message.h>

#include "core/status.h"
#include "model/llama.h"
#include "model/weight_transport.h"
#include "proto/caravan.capnp.h"

namespace caravan::rollout {

struct RolloutWorkerOptions {
  // Ids that end a completion (model::PromptEncoder::stop_ids()); non-empty.
  std::vector<int32_t> stop_ids;
  int32_t pad_id = 0;
};

// Owner thread only. `transport` must outlive the worker.
class RolloutWorker {
 public:
  RolloutWorker(model::Llama model, model::WeightTransport& transport, const RolloutWorkerOptions& options);

  // Handles one request and returns the reply envelope. kInvalidArgument for a request that
  // names a message this actor does not serve or has out-of-range fields (token ids outside the
  // vocabulary, prompt + max_new_tokens beyond the model's context, zero samples); sync errors
  // from the transport are returned as they are.
  Result<std::unique_ptr<capnp::MallocMessageBuilder>> handle(const proto::Envelope::Reader& message);

  uint64_t policy_version() const { return policy_version_; }

 private:
  Result<std::unique_ptr<capnp::MallocMessageBuilder>> generate(const proto::RolloutRequest::Reader& request);
  Result<std::unique_ptr<capnp::MallocMessageBuilder>> sync(const proto::SyncWeights::Reader& request);
  Status validate(const proto::RolloutRequest::Reader& request) const;

  model::Llama model_;
  model::WeightTransport& transport_;
  RolloutWorkerOptions options_;
  uint64_t policy_version_ = 0;
};

} // namespace caravan::rollout
