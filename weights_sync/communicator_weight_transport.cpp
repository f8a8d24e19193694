// File: weights_sync/communicator_weight_transport.cpp
#include "weights_sync/communicator_weight_transport.h"

#include <algorithm>
#include <chrono>
#include <utility>
#include <vector>

#include "core/log.h"
#include "core/str_cat.h"

namespace caravan::wsync {
namespace {

std::string describe(const model::WeightGroupSpec& group) {
  return str_cat("weight-sync generation ", group.generation, " (rank ", group.rank, " of ", group.world_size, ")");
}

// The group's own consistency; the store address is checked where it is used (connect).
Status validate(const model::WeightGroupSpec& group, bool serves_store) {
  if (group.world_size < 1) {
    return Status::invalid_argument(
        str_cat("WeightGroup.worldSize: expected >= 1, got ", group.world_size, " (is SyncWeights.group set?)"));
  }
  if (group.rank < 0 || group.rank >= group.world_size) {
    return Status::invalid_argument(
        str_cat("WeightGroup.rank: expected 0 <= rank < worldSize=", group.world_size, ", got ", group.rank));
  }
  if ((group.rank == 0) != serves_store) {
    return Status::invalid_argument(str_cat("WeightGroup.rank: ", group.rank,
                                            ", but rank 0 is the source and the only rank that serves the store; "
                                            "this process ", serves_store ? "serves it" : "does not serve it"));
  }
  return Status::ok_status();
}

} // namespace

CommunicatorWeightTransport::CommunicatorWeightTransport(WeightTransportOptions options,
                                                         std::shared_ptr<RendezvousStore> served_store)
    : options_(std::move(options)), served_store_(std::move(served_store)) {}

Result<model::WeightSyncStats> CommunicatorWeightTransport::synchronize(model::LlamaImpl& model, uint64_t version,
                                                                        const model::WeightGroupSpec& group) {
  const Status joined = join(group);
  if (!joined.ok()) {
    ++failures_;
    return joined.with_context(describe(group));
  }
  NamedTensors tensors;
  for (const auto& item : model.named_parameters(/*recurse=*/true)) tensors.emplace_back(item.key(), item.value());
  Result<BroadcastStats> stats = broadcaster_->broadcast(tensors, version);
  if (!stats.ok()) {
    ++failures_;
    // A rank missing, hung or dead (kTimeout, kUnavailable) ends the group even when this
    // rank's own collectives went through: the controller forms a new generation.
    const StatusCode code = stats.status().code();
    if (communicator_->broken() || code == StatusCode::kTimeout || code == StatusCode::kUnavailable) {
      failure_ = stats.status();
      discard();
      log::warn("event=weight_group_discarded generation=", group.generation, " rank=", group.rank, " reason=\"",
                failure_.message(), "\"");
    }
    return stats.status().with_context(describe(group));
  }
  model::WeightSyncStats result;
  result.version = stats->version;
  result.bytes = stats->bytes;
  result.full_bytes = stats->full_bytes;
  result.seconds = stats->seconds;
  result.buckets = static_cast<int64_t>(stats->bucket_seconds.size());
  result.sent_as = stats->sent_as == DeltaMode::kOff ? "full" : delta_mode_name(stats->sent_as);
  result.failures = failures_;
  for (const double seconds : stats->bucket_seconds) {
    result.bucket_seconds_max = std::max(result.bucket_seconds_max, seconds);
    result.bucket_seconds_mean += seconds / static_cast<double>(stats->bucket_seconds.size());
  }
  return result;
}

Status CommunicatorWeightTransport::join(const model::WeightGroupSpec& group) {
  if (generation_ && group.generation < *generation_) {
    return Status::failed_precondition(
        str_cat("older than generation ", *generation_, ", which this process joined already"));
  }
  if (generation_ && group.generation == *generation_) {
    if (!failure_.ok()) {
      return Status::failed_precondition(
          str_cat("this group failed earlier and cannot be used again (a new generation must be formed): ",
                  failure_.message()));
    }
    if (group.rank != communicator_->rank() || group.world_size != communicator_->world_size()) {
      return Status::invalid_argument(str_cat("WeightGroup: this generation was joined as rank ",
                                              communicator_->rank(), " of ", communicator_->world_size()));
    }
    return Status::ok_status();
  }
  // A new generation: the old group is torn down first, so its members see it close.
  discard();
  generation_ = group.generation;
  failure_ = Status::ok_status();
  Status joined = [&]() -> Status {
    CARAVAN_RETURN_IF_ERROR(validate(group, served_store_ != nullptr));
    std::shared_ptr<RendezvousStore> store = served_store_;
    if (store == nullptr) {
      CARAVAN_ASSIGN_OR_RETURN(store, RendezvousStore::connect(group.store_host, group.store_port, options_.timeout,
                                                               options_.stop));
    }
    CommunicatorOptions communicator_options;
    communicator_options.rank = group.rank;
    communicator_options.world_size = group.world_size;
    communicator_options.store = std::move(store);
    communicator_options.scope = str_cat("gen-", group.generation, "/");
    communicator_options.timeout = options_.timeout;
    communicator_options.stop = options_.stop;
    const auto start = std::chrono::steady_clock::now();
    control_ = std::make_unique<SyncControl>(communicator_options.store, communicator_options.scope);
    CARAVAN_ASSIGN_OR_RETURN(communicator_, make_communicator(options_.backend, communicator_options));
    broadcaster_ = std::make_unique<WeightBroadcaster>(
        *communicator_, *control_,
        WeightBroadcastOptions{.bucket_bytes = options_.bucket_bytes, .delta = options_.delta, .timeout = options_.timeout});
    log::info("event=weight_group_joined generation=", group.generation, " rank=", group.rank,
              " world_size=", group.world_size, " seconds=",
              std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    return Status::ok_status();
  }();
  if (!joined.ok()) failure_ = joined;
  return joined;
}

void CommunicatorWeightTransport::discard() {
  communicator_.reset();
  broadcaster_.reset();
  control_.reset();
}

} // namespace caravan::wsync
