#include "weights_sync/communicator_weight_transport.h"

namespace caravan::wsync {

CommunicatorWeightTransport::CommunicatorWeightTransport(std::unique_ptr<Communicator> communicator,
                                                         int64_t bucket_bytes)
    : communicator_(std::move(communicator)), broadcaster_(*communicator_, bucket_bytes) {}

Result<model::WeightSyncStats> CommunicatorWeightTransport::synchronize(model::LlamaImpl& model, uint64_t version) {
  std::vector<std::pair<std::string, at::Tensor>> tensors;
  for (const auto& item : model.named_parameters(/*recurse=*/true)) tensors.emplace_back(item.key(), item.value());
  CARAVAN_ASSIGN_OR_RETURN(BroadcastStats stats, broadcaster_.broadcast(tensors, version));
  return model::WeightSyncStats{.version = stats.version, .bytes = stats.bytes, .seconds = stats.seconds};
}

} // namespace caravan::wsync
