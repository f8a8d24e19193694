// File: learner/dpo_options.h
// The options of the DPO stage ([dpo]).
// The run config (apps/run_config.h) holds one; apps/run_config_reader.cpp fills it from TOML.
#pragma once

#include <cstdint>
#include <string>

#include "learner/batching_options.h"

namespace caravan::learner {

// [dpo]: the DPO stage ([task] kind = "dpo"): direct preference optimisation against a frozen
// copy of the starting model (learner/dpo_trainer.h).
struct DpoOptions {
  // Optimizer steps, 1..10^7.
  int64_t steps = 100;
  // Preference pairs per step, >= 1.
  int64_t batch_size = 8;
  // AdamW learning rate, > 0 (Tülu 3 8B: 5e-7).
  double learning_rate = 5e-7;
  // Linear warm-up steps, >= 0.
  int64_t warmup_steps = 0;
  // The DPO temperature beta, > 0: the implicit reward of a response is beta times its log-ratio
  // against the reference (Tülu 3 used 5 with "dpo_norm").
  double beta = 5.0;
  // "dpo": sequence log-probabilities are sums over the response tokens (Rafailov et al.);
  // "dpo_norm": averages per token (open-instruct's length-normalised loss, Tülu 3's choice).
  std::string loss = "dpo_norm";
  // Maximum gradient L2 norm, > 0.
  double max_grad_norm = 1.0;
  // Write checkpoints/step-N every this many steps (and the final model at the end); 0 = only
  // the final model. >= 0.
  int64_t checkpoint_every = 0;
  // [dpo] micro_batch_tokens (whole pairs per pass), pack_sequences (learner/batching_options.h).
  MicroBatchOptions batching;
  // [dpo] gradient_checkpointing and bf16_autocast: as [sft]'s (learner/sft_options.h); the
  // reference's forward runs under the same autocast.
  bool gradient_checkpointing = false;
  bool bf16_autocast = false;
};

} // namespace caravan::learner
