// File: learner/sft_options.h
// The options of supervised fine-tuning ([sft]): the warm-up before RL and the SFT stage.
// The run config (apps/run_config.h) holds one; apps/run_config_reader.cpp fills it from TOML.
#pragma once

#include <cstdint>

#include "learner/batching_options.h"

namespace caravan::learner {

// [sft]: supervised fine-tuning: the warm-up on generated problems with their answers before RL
// ([task] kind = "arithmetic"), or the SFT stage on a JSONL dataset ([task] kind = "sft").
struct SftOptions {
  // Optimizer steps; 0 skips the warm-up (the SFT stage needs >= 1). 0..10^7.
  int64_t steps = 300;
  // Problems (arithmetic) or conversations (the SFT stage) per step, >= 1.
  int64_t batch_size = 64;
  // AdamW learning rate, > 0.
  double learning_rate = 1e-3;
  // Linear warm-up steps, >= 0.
  int64_t warmup_steps = 20;
  // SFT stage only: write checkpoints/step-N every this many steps (and the final model at the
  // end); 0 = only the final model. >= 0.
  int64_t checkpoint_every = 0;
  // [sft] micro_batch_tokens, pack_sequences (learner/batching_options.h).
  MicroBatchOptions batching;
  // [sft] gradient_checkpointing: keep only each decoder layer's input in the forward and rerun
  // the layer in the backward pass (less memory, one more forward; the same step).
  bool gradient_checkpointing = false;
  // [sft] bf16_autocast: the forward passes run their matmuls in bfloat16 (learner/autocast.h)
  // on float32 master weights, gradients and AdamW state; needs [model] dtype = "float32".
  bool bf16_autocast = false;
};

} // namespace caravan::learner
