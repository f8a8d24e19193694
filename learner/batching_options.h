// File: learner/batching_options.h
// How a trainer cuts one batch into forward/backward passes and optimizer steps. LibTorch-free:
// the config reader fills these structs ([grpo], [sft] and [dpo] keys,
// apps/run_config_reader.cpp) and the trainers take them (learner/micro_batch.h does the cutting).
//
//   [grpo]
//   micro_batch_tokens = 4096   # forward/backward passes of at most 4096 tokens, gradients summed
//   mini_batches = 2            # two optimizer steps per TrainBatch ...
//   epochs = 2                  # ... over two passes: 4 optimizer steps per TrainBatch
//   pack_sequences = true       # sequences back to back in one row, no padding
#pragma once

#include <cstdint>

namespace caravan::learner {

// Forward/backward passes of one optimizer step ([sft], [dpo] and [grpo] keys of these names).
struct MicroBatchOptions {
  // micro_batch_tokens: token budget of one forward/backward pass, >= 0; 0 = the whole
  // mini-batch at once. The cost of a pass is the tokens the model runs over: with padding,
  // sequences x the longest; packed, the sum of the lengths. A sequence longer than the budget
  // gets a pass of its own. The gradients of the passes are summed before the optimizer step,
  // with every loss normalised by the whole mini-batch's counts, so the step is the one-pass
  // step (within fp32 rounding).
  int64_t micro_batch_tokens = 0;
  // pack_sequences: lay a pass's sequences back to back in one row (positions restarting at 0 per
  // sequence, attention blocked across sequences; model/batch_layout.h) instead of one padded row
  // each. The same loss and gradients, without the padding's compute.
  bool pack_sequences = false;
};

// [grpo]: the optimizer steps made from one TrainBatch.
struct RlBatchingOptions {
  MicroBatchOptions micro;
  // mini_batches: optimizer steps per pass over the TrainBatch, >= 1: the judged sequences are cut
  // into this many contiguous parts of (nearly) equal count. Advantages are computed once over
  // whole groups before the cut. At most the number of sequences are made (an empty part makes
  // no step).
  int64_t mini_batches = 1;
  // epochs: passes over the TrainBatch, >= 1. With mini_batches x epochs > 1 optimizer steps the
  // ratio of every step is taken against the policy's logprobs before the first step (PPO).
  int64_t epochs = 1;
};

} // namespace caravan::learner
