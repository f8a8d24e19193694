// File: weights_sync/weight_broadcaster.h
// Versioned, bucketed broadcast of a model's named tensors from rank 0 (the learner) to every
// other rank of a Communicator (rollout actors, learner peers). Receivers get the values in
// place and learn the policy version they now hold.
//
// Sample usage (every rank, same tensors in the same order):
//   WeightBroadcaster broadcaster(*communicator, /*bucket_bytes=*/64 << 20);
//   std::vector<std::pair<std::string, at::Tensor>> weights = model.named_parameters_list();
//   CARAVAN_ASSIGN_OR_RETURN(BroadcastStats stats, broadcaster.broadcast(weights, policy_version));
//   // On receivers: `weights` now hold the root's values, stats.version the root's version.
//
// Protocol (identical sequence of collectives on every rank, so a mismatch never leaves a rank
// blocked in a collective that the others skip):
//   1. Header: broadcast from rank 0 of int64[4] = {version, tensor count, total payload bytes,
//      layout hash}. The layout hash is FNV-1a over every tensor's name, dtype and shape, in order.
//   2. Agreement: every rank compares the header with its own tensors, sets flags[rank] = 1 on
//      a mismatch, and all ranks all_reduce(kMax) the int32[world_size] flags.
//   3. If any flag is set, every rank returns kFailedPrecondition with nothing transferred: the
//      mismatching ranks name the expected (root) and the local layout, the others name the
//      mismatching ranks. The group stays usable.
//   4. Buckets: consecutive tensors of one dtype and device are packed into a flat buffer of at
//      most bucket_bytes; a tensor larger than bucket_bytes forms its own bucket (broadcast in
//      place when contiguous). Each bucket is one broadcast from rank 0; receivers unpack.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include <ATen/core/Tensor.h>

#include "core/status.h"
#include "weights_sync/communicator.h"

namespace caravan::wsync {

struct BroadcastStats {
  // Policy version this rank holds after the call: the root's `version`.
  uint64_t version = 0;
  // Tensor payload moved, in bytes (the header and agreement steps are not counted).
  int64_t bytes = 0;
  // Bucket broadcasts issued.
  int64_t buckets = 0;
  // Wall time of the whole call, in seconds.
  double seconds = 0.0;
};

// Owner thread only (the communicator's owner). Non-copyable, non-movable.
class WeightBroadcaster {
 public:
  // Rank that holds the source weights.
  static constexpr int kRoot = 0;
  // Smallest accepted bucket size, in bytes.
  static constexpr int64_t kMinBucketBytes = 1024;

  // `communicator` must outlive this object. bucket_bytes >= kMinBucketBytes (checked: a
  // smaller value is a bug). Holds one staging buffer of up to bucket_bytes, allocated lazily.
  WeightBroadcaster(Communicator& communicator, int64_t bucket_bytes);
  WeightBroadcaster(const WeightBroadcaster&) = delete;
  WeightBroadcaster& operator=(const WeightBroadcaster&) = delete;

  // Collective: every rank calls it with tensors of identical names, shapes and dtypes in the
  // same order (defined tensors; any strides). The root sends `version` and the tensors'
  // values; other ranks copy the received values into `tensors` in place (under NoGradGuard,
  // so parameters that require grad are fine) and ignore their own `version`.
  // Errors: kFailedPrecondition on a layout mismatch (see the protocol above; tensors are left
  // untouched on every rank); the communicator's kTimeout / kUnavailable / kFailedPrecondition
  // otherwise, after which receivers' tensors may be partially updated.
  Result<BroadcastStats> broadcast(const std::vector<std::pair<std::string, at::Tensor>>& tensors,
                                   uint64_t version);

 private:
  // Tensors [first, last) of one broadcast; `bytes` is their total size.
  struct Bucket {
    size_t first = 0;
    size_t last = 0;
    int64_t bytes = 0;
  };

  // Steps 1-3 of the protocol; returns the root's version when every rank agrees.
  Result<uint64_t> agree_on_layout(const std::vector<std::pair<std::string, at::Tensor>>& tensors,
                                   uint64_t version);
  std::vector<Bucket> plan_buckets(const std::vector<std::pair<std::string, at::Tensor>>& tensors) const;
  Status transfer(const std::vector<std::pair<std::string, at::Tensor>>& tensors, const Bucket& bucket);
  // A flat buffer of `bytes` bytes viewed as `like`'s dtype, on `like`'s device.
  at::Tensor staging(int64_t bytes, const at::Tensor& like);

  Communicator& communicator_;
  const int64_t bucket_bytes_;
  // uint8[bucket_bytes_], reused across buckets and calls; reallocated if the device changes.
  at::Tensor staging_;
};

} // namespace caravan::wsync
