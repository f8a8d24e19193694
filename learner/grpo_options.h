// File: learner/grpo_options.h
// The options of the RL stage ([grpo]): steps, batch shape, optimizer, and the options of each
// learner component it composes.
// The run config (apps/run_config.h) holds one; apps/run_config_reader.cpp fills it from TOML.
#pragma once

#include <cstdint>

#include "learner/advantage_options.h"
#include "learner/batching_options.h"
#include "learner/kl_options.h"
#include "learner/lr_schedule_options.h"
#include "learner/off_policy_correction_options.h"
#include "learner/policy_loss_options.h"

namespace caravan::learner {

// [grpo]: the RL stage.
struct GrpoOptions {
  // RL steps (each: generate, verify, one optimizer update, weight sync), >= 0.
  int64_t steps = 100;
  // Prompts per step, >= 1.
  int64_t prompts_per_step = 32;
  // Completions per prompt (the GRPO group), >= 2.
  int64_t group_size = 8;
  // AdamW learning rate (the peak of the schedule), > 0.
  double learning_rate = 3e-4;
  // Maximum gradient L2 norm, > 0.
  double max_grad_norm = 1.0;
  // AdamW weight decay, >= 0.
  double weight_decay = 0.0;
  // Write checkpoints/step-N every this many RL steps (and at the end); 0 = only at the end.
  int64_t checkpoint_every = 0;
  // [grpo] logprob_chunk_size: positions per chunk when the learner computes logprobs and
  // entropy from the hidden states, so that no [tokens x vocab] logits tensor exists at once
  // (learner/chunked_logprobs.h), >= 1.
  int64_t logprob_chunk_size = 1024;
  // [grpo] gradient_checkpointing: keep only each decoder layer's input in the policy's forward
  // and rerun the layer in the backward pass (model/activation_checkpoint.h): less memory, one
  // more forward per layer, the same gradients.
  bool gradient_checkpointing = false;
  // [grpo] bf16_autocast: the policy's, the reference's and the value model's forward passes run
  // their matmuls in bfloat16 on the float32 parameters, which stay the master weights
  // (learner/autocast.h).
  // Needs [model] dtype = "float32".
  bool bf16_autocast = false;
  // [grpo] micro_batch_tokens, pack_sequences, mini_batches, epochs (learner/batching_options.h).
  RlBatchingOptions batching;
  AdvantageOptions advantage;
  PolicyLossOptions loss;
  KlOptions kl;
  OffPolicyCorrectionOptions correction;
  LrScheduleOptions schedule;
};

} // namespace caravan::learner
