// File: weights_sync/communicator_weight_transport.h
// model::WeightTransport over a Communicator: the learner (rank 0) and every rollout actor
// (ranks 1..N) share one group, and synchronize() is a versioned, bucketed WeightBroadcaster
// call over the model's named parameters. apps/ builds one per process and injects it.
//
//   CARAVAN_ASSIGN_OR_RETURN(auto communicator, make_communicator("gloo", options));
//   CommunicatorWeightTransport transport(std::move(communicator), /*bucket_bytes=*/4 << 20);
//   CARAVAN_ASSIGN_OR_RETURN(model::WeightSyncStats stats, transport.synchronize(*model, version));
#pragma once

#include <memory>

#include "model/weight_transport.h"
#include "weights_sync/communicator.h"
#include "weights_sync/weight_broadcaster.h"

namespace caravan::wsync {

// Owner thread only; owns the communicator.
class CommunicatorWeightTransport : public model::WeightTransport {
 public:
  CommunicatorWeightTransport(std::unique_ptr<Communicator> communicator, int64_t bucket_bytes);

  Result<model::WeightSyncStats> synchronize(model::LlamaImpl& model, uint64_t version) override;

 private:
  std::unique_ptr<Communicator> communicator_;
  WeightBroadcaster broadcaster_;
};

} // namespace caravan::wsync
