// File: model/weight_transport.h
// The seam between a role that owns a model and the mechanism that moves weights between
// processes. Roles (learner/, actors/) depend only on this interface; weights_sync/ implements
// it over a communicator (Gloo on CPU; NCCL and CUDA IPC on GPUs) and apps/ injects it.
//
//   // learner (source):   CARAVAN_ASSIGN_OR_RETURN(auto stats, transport.synchronize(*policy, version));
//   // rollout (receiver): CARAVAN_ASSIGN_OR_RETURN(auto stats, transport.synchronize(*model, announced));
//   //                     policy_version = stats.version;
#pragma once

#include <cstdint>
#include <memory>

#include <capnp/message.h>

#include "core/status.h"
#include "model/llama.h"
#include "proto/caravan.capnp.h"

namespace caravan::model {

struct WeightSyncStats {
  // The version the weights now carry (the source's version on every rank).
  uint64_t version = 0;
  int64_t bytes = 0;
  double seconds = 0;
};

// Not thread-safe: called by the owner thread of the model, in the same order on every rank.
class WeightTransport {
 public:
  virtual ~WeightTransport() = default;
  // Collective over the learner (source) and every rollout actor. The source sends `model`'s
  // parameters tagged with `version`; receivers overwrite their parameters in place and adopt
  // the source's version (their `version` argument is what the announcement said). kTimeout or
  // kUnavailable when a peer does not take part; kFailedPrecondition when architectures differ
  // (the receiver's weights are then untouched).
  virtual Result<WeightSyncStats> synchronize(LlamaImpl& model, uint64_t version) = 0;
};

// The WeightsSynced reply every participant of a sync sends to the controller.
inline std::unique_ptr<capnp::MallocMessageBuilder> weights_synced_reply(uint64_t request_id,
                                                                         const WeightSyncStats& stats) {
  auto reply = std::make_unique<capnp::MallocMessageBuilder>();
  auto synced = reply->initRoot<proto::Envelope>().initWeightsSynced();
  synced.setRequestId(request_id);
  synced.setPolicyVersion(stats.version);
  synced.setBytes(static_cast<uint64_t>(stats.bytes));
  synced.setSeconds(stats.seconds);
  return reply;
}

} // namespace caravan::model
