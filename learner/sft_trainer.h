// File: learner/sft_trainer.h
// Supervised fine-tuning: masked next-token cross entropy on (prompt, target) pairs (the
// arithmetic warm-up) or on tokenised conversations with assistant-only masks (the SFT stage,
// learner/sft_stage.h), AdamW with a linear learning-rate warm-up, gradient clipping at 1.0.
// One optimizer step per call, its gradient summed over forward/backward passes of at most
// [sft] micro_batch_tokens tokens, padded or packed ([sft] pack_sequences;
// learner/batching_options.h).
//
//   learner::SftTrainer trainer(policy, config.sft, tokenizer->pad_id());
//   for (int64_t i = 0; i < config.sft.steps; ++i) {
//     CARAVAN_ASSIGN_OR_RETURN(learner::SftStepStats stats, trainer.step(next_batch()));
//   }
//   CARAVAN_ASSIGN_OR_RETURN(learner::SftEvaluation held_out, trainer.evaluate(held_out_sequences, 16));
#pragma once

#include <cstdint>
#include <vector>

#include <torch/optim/adamw.h>

#include "core/status.h"
#include "learner/sft_options.h"
#include "learner/training_sequence.h"
#include "model/llama.h"

namespace caravan::learner {

// One training pair; the loss covers the target tokens only (append eos to `target` to teach
// the model to stop).
struct SftExample {
  std::vector<int32_t> prompt;
  std::vector<int32_t> target;
};

struct SftStepStats {
  // Mean cross entropy per target token (nats) before the update, over all micro-batches.
  double loss = 0;
  // Global gradient L2 norm before clipping.
  double grad_norm = 0;
  // Target tokens trained on.
  int64_t tokens = 0;
  // Learning rate used by this step.
  double learning_rate = 0;
};

struct SftEvaluation {
  // Mean cross entropy per trained token (nats) over every sequence evaluated.
  double loss = 0;
  // Trained tokens evaluated.
  int64_t tokens = 0;
};

// Not thread-safe: one owner thread calls step() and the accessors.
class SftTrainer {
 public:
  // Gradients are clipped to this global L2 norm.
  static constexpr double kMaxGradNorm = 1.0;

  // `policy` is shared with the caller and updated in place. AdamW without weight decay.
  // Options are validated by the config layer; out-of-range values are bugs (CARAVAN_CHECK).
  SftTrainer(model::Llama policy, const SftOptions& options, int32_t pad_id);

  // One optimizer step. Each example needs a non-empty prompt; targets may be empty (no loss);
  // ids in the vocabulary and prompt + target within max_position_embeddings. Returns
  // kInvalidArgument naming the example for bad input (weights untouched), kInternal if the
  // gradient is not finite (update skipped; the step still counts for the schedule).
  Result<SftStepStats> step(const std::vector<SftExample>& batch);
  // The same on tokenised conversations (learner/training_sequence.h).
  // Each must pass validate_training_sequence for the policy's config (kInvalidArgument naming
  // the sequence otherwise, weights untouched).
  Result<SftStepStats> step(const std::vector<TrainingSequence>& batch);

  // The loss of `sequences` under the current weights, without gradients or updates, in
  // batches of `batch_size` (>= 1). kInvalidArgument as step() for a bad sequence or none.
  Result<SftEvaluation> evaluate(const std::vector<TrainingSequence>& sequences, int64_t batch_size);

  // Learning rate of step number `step` (0-based): learning_rate x lr_multiplier of a constant
  // schedule with warmup_steps (learner/lr_schedule.h).
  double learning_rate_at(int64_t step) const;
  // Steps taken so far.
  int64_t steps_done() const { return steps_done_; }
  // From a checkpoint: the schedule continues after `steps` steps (>= 0, CARAVAN_CHECK).
  void restore_steps_done(int64_t steps);

  model::Llama& policy() { return policy_; }
  torch::optim::AdamW& optimizer() { return optimizer_; }

 private:
  // One optimizer step on validated sequences.
  Result<SftStepStats> train_on(const std::vector<TrainingSequence>& sequences);

  model::Llama policy_;
  SftOptions options_;
  int32_t pad_id_;
  torch::optim::AdamW optimizer_;
  int64_t steps_done_ = 0;
};

} // namespace caravan::learner
