// File: weights_sync/weight_broadcaster.h
// Versioned, verified, bucketed and pipelined broadcast of a model's named tensors from rank 0
// (the learner) to every other rank of a Communicator (rollout actors). Receivers stage what
// they receive and install it only when every check passed; they report the version they hold.
//
// Sample usage (every rank, every sync, in the same order):
//   WeightBroadcaster broadcaster(*communicator, control, {.bucket_bytes = 64 << 20,
//                                                           .delta = DeltaMode::kChangedTensors});
//   CARAVAN_ASSIGN_OR_RETURN(BroadcastStats stats, broadcaster.broadcast(named_parameters, version));
//
// Protocol of sync n (control keys "sync-<n>/..." in the group's scope of the store, data over
// the communicator; every wait has the deadline options.timeout):
//   1. Receivers post ready/<rank> = {wire dtype (their floating parameters' dtype), manifest
//      hash in that dtype, the version and state checksum they installed last}.
//   2. The source gathers every ready (a rank that does not post is named), checks that all wire
//      dtypes and manifest hashes equal its own (tensors sorted by name, floating ones converted
//      to the wire dtype), and posts the header: version, manifest hash, full sync or delta
//      (only when every receiver holds the source's last acknowledged state), the payload's
//      tensors and size. On a mismatch the header carries the reason: every rank fails with it,
//      nothing is transferred, the group stays usable.
//   3. Data: the payload in flat buckets of bucket_bytes, each with a checksum trailer
//      (bucket_pipeline.h); the source packs bucket i+1 while bucket i is sent.
//   4. The source posts the footer: the checksum of the complete new state.
//   5. Each receiver verifies every bucket, assembles the new state (delta applied to its
//      installed bytes), checks it against the footer, and only then installs it; it posts
//      result/<rank> = "ok" or the error. The source fails when any receiver did not install.
//      Once every result is in, the source deletes the sync's keys (those of a sync that failed
//      or aborted stay; a broken group's scope is abandoned anyway).
// A collective that fails (a peer died or hung) fails the sync on every survivor within the
// deadline; each then posts failed/<rank> and waits briefly for the others, and names the
// ranks that did not report as missing.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>

#include "core/status.h"
#include "weights_sync/bucket_pipeline.h"
#include "weights_sync/communicator.h"
#include "weights_sync/sync_control.h"
#include "weights_sync/sync_messages.h"
#include "weights_sync/weight_manifest.h"

namespace caravan::wsync {

struct WeightBroadcastOptions {
  // Payload bytes per bucket, >= WeightBroadcaster::kMinBucketBytes.
  int64_t bucket_bytes = 4 << 20;
  DeltaMode delta = DeltaMode::kOff;
  // Deadline of every wait: a control key, each collective. > 0.
  std::chrono::milliseconds timeout{std::chrono::seconds(120)};
};

struct BroadcastStats {
  // Policy version this rank holds after the call: the root's `version`.
  uint64_t version = 0;
  // Payload bytes moved (after delta coding), and what a full sync moves (the wire manifest).
  int64_t bytes = 0;
  int64_t full_bytes = 0;
  // How this sync was sent: kOff for a full sync.
  DeltaMode sent_as = DeltaMode::kOff;
  // Seconds of each bucket's collective, in order.
  std::vector<double> bucket_seconds;
  // Wall time of the whole call.
  double seconds = 0.0;
};

// Owner thread only (the communicator's owner). Non-copyable, non-movable.
class WeightBroadcaster {
 public:
  static constexpr int kRoot = 0;
  static constexpr int64_t kMinBucketBytes = 1024;

  // `communicator` and `control` (the same group's scope of the store) must outlive this
  // object. options.bucket_bytes >= kMinBucketBytes and timeout > 0 (checked: a bug otherwise).
  WeightBroadcaster(Communicator& communicator, SyncControl& control, WeightBroadcastOptions options);
  WeightBroadcaster(const WeightBroadcaster&) = delete;
  WeightBroadcaster& operator=(const WeightBroadcaster&) = delete;

  // Collective over every rank of the communicator (see the protocol above). The root sends
  // `tensors` tagged with `version`; receivers overwrite their `tensors` in place (under
  // NoGradGuard, converting from the wire dtype) and ignore their own `version`.
  // Errors, all naming the version:
  //   kFailedPrecondition: a wire dtype or manifest mismatch (both values named; nothing moved),
  //     or, on the root, a receiver that rejected the sync (its reason named);
  //   kDataLoss on a receiver whose bucket or state checksum failed (both values named; its
  //     tensors untouched);
  //   kTimeout / kUnavailable when a rank is missing, hung or died (named where known); the
  //     communicator is then broken, and receivers' tensors are untouched.
  Result<BroadcastStats> broadcast(const NamedTensors& tensors, uint64_t version);

 private:
  // What every receiver acknowledged last: the base of the next delta (source only).
  struct SentState {
    uint64_t version = 0;
    uint64_t state = 0;
    std::vector<uint64_t> checksums;
    // Wire bytes of every tensor (kXorBf16 only): independent copies.
    std::vector<at::Tensor> wire;
  };
  // What this receiver installed last through this group.
  struct InstalledState {
    uint64_t version = 0;
    uint64_t state = 0;
    uint64_t manifest_hash = 0;
    std::vector<uint64_t> checksums;
  };

  Result<BroadcastStats> send(const NamedTensors& tensors, uint64_t version, const std::string& key);
  Result<BroadcastStats> receive(const NamedTensors& tensors, const std::string& key);
  // The header of a failed plan: every receiver fails with `reason` (its code and message).
  Status abort(const std::string& key, uint64_t version, const Status& reason);
  // Sends every bucket of `payload`; timings into `stats`.
  Status send_payload(PayloadSource& payload, int64_t bucket_bytes, const std::string& key, BroadcastStats& stats);
  // Checks the staged payload against `header` and the footer's state, then installs it.
  Status install(const WeightManifest& manifest, const SyncHeader& header, uint64_t state);
  // How long survivors wait for each other's reports after a failure: a quarter of the
  // deadline, within [100 ms, 2 s].
  std::chrono::milliseconds grace_window() const;
  // `failure` of a collective, with the ranks that do not report it as well named as missing.
  Status data_failure(const std::string& key, const Status& failure);

  Communicator& communicator_;
  SyncControl& control_;
  // Buffers a failed collective may still write: kept until this object (destroyed after the
  // broken communicator) goes. The receiver's staging buffer is reused across syncs.
  std::vector<uint8_t> staging_;
  std::unique_ptr<BucketPipeline> failed_pipeline_;
  const WeightBroadcastOptions options_;
  // Syncs started through this group; names the control keys of the next one.
  int64_t sequence_ = 0;
  std::optional<SentState> sent_;
  std::optional<InstalledState> installed_;
};

} // namespace caravan::wsync
