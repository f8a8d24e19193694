// File: learner/data_parallel_options.h
// [learner]: how many learner ranks train together (learner/data_parallel.h). LibTorch-free, so
// that the config reader (apps/run_config_reader.cpp) fills it.
#pragma once

#include <cstdint>
#include <string>

namespace caravan::learner {

struct DataParallelOptions {
  // [learner] ranks: learner processes that split each TrainBatch by whole groups, sum their
  // gradients and shard the AdamW state (ZeRO-1). Rank 0 serves the controller and is the weight
  // source; 1 = a single learner. 1..64.
  int64_t ranks = 1;
  // [learner] backend: the collectives of the ranks: "gloo" (CPU), "nccl" (GPU; a build with
  // -DCARAVAN_WITH_CUDA=ON), "auto" = nccl when such a build sees a GPU, else gloo.
  std::string backend = "auto";
  // [learner] rendezvous_port: the port of the store rank 0 serves for the ranks' group; 0 =
  // `caravan run` picks a free one. 0..65535.
  int64_t rendezvous_port = 0;
  // [learner] collective_timeout_s: the rendezvous and every collective give up after this, so a
  // rank that fails or leaves ends the others' step with an error instead of a hang. Seconds, > 0.
  double collective_timeout_s = 300.0;
};

} // namespace caravan::learner
