// File: model/weight_transport.h
// The seam between a role that owns a model and the mechanism that moves weights between
// processes. Roles (learner/, actors/) depend only on this interface; weights_sync/ implements
// it over a communicator (Gloo on CPU; NCCL and CUDA IPC on GPUs) and apps/ injects it.
// Every SyncWeights names the group it addresses (WeightGroup): the controller forms a new
// generation whenever the members change, and the transport re-joins when the generation does.
//
//   const WeightGroupSpec group = weight_group_from_proto(request.getGroup());
//   // learner (source):   CARAVAN_ASSIGN_OR_RETURN(auto stats, transport.synchronize(*policy, version, group));
//   // rollout (receiver): CARAVAN_ASSIGN_OR_RETURN(auto stats, transport.synchronize(*model, announced, group));
//   //                     policy_version = stats.version;
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include <capnp/message.h>

#include "core/status.h"
#include "model/llama.h"
#include "proto/caravan.capnp.h"

namespace caravan::model {

// What one weight sync did, as a rank saw it: the metrics the learner and the rollout actors
// log, return in WeightsSynced and the metrics exporter publishes.
struct WeightSyncStats {
  // The version the weights now carry (the source's version on every rank).
  uint64_t version = 0;
  // Payload bytes moved (after delta coding), and what a full sync of the same weights moves.
  int64_t bytes = 0;
  int64_t full_bytes = 0;
  // Wall time of the whole sync (control round trips, packing, transfer, verification, install).
  double seconds = 0;
  // Bucket collectives, and their slowest and mean durations in seconds.
  int64_t buckets = 0;
  double bucket_seconds_max = 0;
  double bucket_seconds_mean = 0;
  // How it was sent: "full", "changed_tensors" or "xor_bf16".
  std::string sent_as = "full";
  // Syncs of this process that failed so far (this one excluded: it succeeded).
  int64_t failures = 0;

  // Payload throughput in GB/s (1e9 bytes), 0 for an instant sync.
  double gb_per_s() const { return seconds > 0 ? static_cast<double>(bytes) / seconds / 1e9 : 0.0; }
  // bytes / full_bytes: 1 for a full sync, less for a delta; 1 when there is nothing to send.
  double delta_ratio() const {
    return full_bytes > 0 ? static_cast<double>(bytes) / static_cast<double>(full_bytes) : 1.0;
  }
};

// The weight-sync group one SyncWeights addresses: proto::WeightGroup as a plain value.
struct WeightGroupSpec {
  // Increases with every re-formation of the group (an actor replaced or lost).
  uint64_t generation = 0;
  // This process's rank: 0 is the learner (the source), rollout actors follow.
  int rank = 0;
  // Members of this generation, >= 1.
  int world_size = 1;
  // Rendezvous of the group (the store the learner serves); receivers connect to it.
  std::string store_host;
  int store_port = 0;
};

// The fields of `group` as they are; the transport validates them where it uses them.
inline WeightGroupSpec weight_group_from_proto(const proto::WeightGroup::Reader& group) {
  return WeightGroupSpec{.generation = group.getGeneration(),
                         .rank = static_cast<int>(group.getRank()),
                         .world_size = static_cast<int>(group.getWorldSize()),
                         .store_host = group.getStoreHost().cStr(),
                         .store_port = static_cast<int>(group.getStorePort())};
}

// Not thread-safe: called by the owner thread of the model, in the same order on every rank.
class WeightTransport {
 public:
  virtual ~WeightTransport() = default;
  // Collective over the members of `group`: the learner (source, rank 0) and the rollout
  // actors. The source sends `model`'s parameters tagged with `version`; receivers overwrite
  // their parameters in place and adopt the source's version (their `version` argument is what
  // the announcement said). The first call, and every call whose group.generation is newer than
  // the last one, joins that generation's group first (blocking until all its members joined);
  // later calls of the same generation reuse it. Errors name the generation:
  // kTimeout or kUnavailable when a member does not take part or dies (within the transport's
  // deadline); the group of that generation is then gone, and every later call for it (or for an
  // older generation) is kFailedPrecondition without blocking: the controller forms a new one.
  // kFailedPrecondition when architectures differ or a receiver rejected the sync, kDataLoss on a
  // receiver whose checksums failed (its weights are then untouched and the group stays
  // usable); kInvalidArgument for a malformed group.
  virtual Result<WeightSyncStats> synchronize(LlamaImpl& model, uint64_t version, const WeightGroupSpec& group) = 0;
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
  synced.setFullBytes(static_cast<uint64_t>(stats.full_bytes));
  synced.setBuckets(static_cast<uint64_t>(stats.buckets));
  synced.setBucketSecondsMax(stats.bucket_seconds_max);
  synced.setSentAs(stats.sent_as);
  synced.setFailures(static_cast<uint64_t>(stats.failures));
  return reply;
}

} // namespace caravan::model
