// File: weights_sync/weight_sync_options.h
// The options of the weight sync from the learner to the rollout actors ([weights_sync]).
// The run config (apps/run_config.h) holds one; apps/run_config_reader.cpp fills it from TOML.
#pragma once

#include <cstdint>
#include <string>

namespace caravan::wsync {

// [weights_sync]
struct WeightSyncOptions {
  // Communicator backend: "auto" (nccl in a CUDA build that sees a GPU, else gloo), "gloo",
  // "nccl" or "cuda_ipc" (learner and actors on one GPU); the last two need -DCARAVAN_WITH_CUDA=ON.
  std::string backend = "auto";
  // What a sync sends once every actor holds the previous version: "off" (everything),
  // "changed_tensors" (tensors whose checksum changed) or "xor_bf16" (changed tensors as a
  // zero-run coded XOR against the actors' bytes).
  std::string delta = "off";
  // Flat bucket size for the broadcast, bytes, >= 1024.
  int64_t bucket_bytes = 4 << 20;
  // Deadline of each step of a sync (rendezvous, control round trip, collective), seconds, > 0.
  double timeout_s = 120.0;
};

} // namespace caravan::wsync
