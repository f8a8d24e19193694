// File: weights_sync/communicator_weight_transport.h
// model::WeightTransport over a Communicator: the learner (rank 0) and every rollout actor share
// one group per generation, and synchronize() is a versioned, bucketed WeightBroadcaster call
// over the model's named parameters. The group is joined lazily, on the first synchronize() of
// each generation (tearing down the previous one), under the scope "gen-<G>/" of the learner's
// RendezvousStore. apps/ builds one transport per process, before the first SyncWeights.
//
//   // learner: serves the store for the whole run
//   CARAVAN_ASSIGN_OR_RETURN(auto store, RendezvousStore::serve(host, port, options.timeout));
//   CommunicatorWeightTransport transport(options, std::move(store));
//   // rollout actor: connects to the store each SyncWeights names
//   CommunicatorWeightTransport transport(options, /*served_store=*/nullptr);
//   CARAVAN_ASSIGN_OR_RETURN(model::WeightSyncStats stats, transport.synchronize(*model, version, group));
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <stop_token>
#include <string>

#include "model/weight_transport.h"
#include "weights_sync/communicator.h"
#include "weights_sync/rendezvous_store.h"
#include "weights_sync/sync_control.h"
#include "weights_sync/sync_messages.h"
#include "weights_sync/weight_broadcaster.h"

namespace caravan::wsync {

struct WeightTransportOptions {
  // Communicator backend (make_communicator).
  std::string backend = "gloo";
  // Flat bucket size of the broadcast, bytes, >= WeightBroadcaster::kMinBucketBytes.
  int64_t bucket_bytes = 4 << 20;
  // [weights_sync] delta: what a sync sends when every receiver holds the last version.
  DeltaMode delta = DeltaMode::kOff;
  // Deadline of each step of a sync: connecting to the store, the rendezvous of a generation,
  // and every collective. > 0.
  std::chrono::milliseconds timeout{std::chrono::seconds(120)};
  // Interrupts a rendezvous (kCancelled), e.g. on shutdown.
  std::stop_token stop;
};

// Owner thread only; owns the communicator of the current generation.
class CommunicatorWeightTransport : public model::WeightTransport {
 public:
  // `served_store` is the store this process serves (the learner, rank 0 of every generation),
  // or null in a receiver, which connects to the store that each group names.
  CommunicatorWeightTransport(WeightTransportOptions options, std::shared_ptr<RendezvousStore> served_store);

  // See model::WeightTransport. Each step (connecting to the store, the rendezvous, every
  // collective) gives up after options.timeout. After a failed collective the communicator is
  // destroyed before this returns, which closes its connections, so the other members fail at
  // once rather than at their own deadline. Destroying it inline does not outlast the deadline:
  // c10d's destructor waits only for the in-flight operation, and that one has failed already or
  // ends at its own timeout, which started with the wait that just gave up (the tests bound
  // synchronize() to timeout + 2 s, destruction included). A group of an older generation is
  // healthy and idle when a new generation replaces it, so its destruction does not block.
  Result<model::WeightSyncStats> synchronize(model::LlamaImpl& model, uint64_t version,
                                             const model::WeightGroupSpec& group) override;

 private:
  // ok when communicator_ serves `group`, after joining its generation if that is new.
  Status join(const model::WeightGroupSpec& group);
  // Drops the group: the communicator first (it may still hold the broadcaster's buffers of a
  // failed collective), then the broadcaster and the control channel.
  void discard();

  const WeightTransportOptions options_;
  const std::shared_ptr<RendezvousStore> served_store_;
  // The newest generation this process tried to join; none before the first synchronize().
  std::optional<uint64_t> generation_;
  // Why generation_'s group is gone (its join or a collective failed); ok while it is usable.
  Status failure_;
  // The group of generation_ and its broadcaster; null before the first join and after a failure.
  std::unique_ptr<Communicator> communicator_;
  std::unique_ptr<SyncControl> control_;
  std::unique_ptr<WeightBroadcaster> broadcaster_;
  // Syncs that failed in this process, reported with every later success.
  int64_t failures_ = 0;
};

} // namespace caravan::wsync
