// File: learner/dpo_trainer.h
// The DPO stage's optimizer loop (learner/dpo_loss.h): for each batch of preference pairs, the
// policy's and the frozen reference's sequence log-probabilities of both responses (the
// reference's once per batch, without gradients), the sigmoid DPO loss with beta, AdamW with a
// linear learning-rate warm-up and gradient clipping. The reference is a frozen copy of the
// policy taken at construction (the SFT model, as in Tülu 3).
//
//   learner::DpoTrainer trainer(policy, config.dpo, spec.tokenizer->pad_id());
//   CARAVAN_ASSIGN_OR_RETURN(learner::DpoMetrics before, trainer.evaluate(held_out, 16));
//   for (int64_t i = 0; i < config.dpo.steps; ++i) {
//     CARAVAN_ASSIGN_OR_RETURN(learner::DpoStepStats stats, trainer.step(next_pairs()));
//   }
#pragma once

#include <cstdint>
#include <vector>

#include <torch/optim/adamw.h>

#include "core/status.h"
#include "learner/dpo_loss.h"
#include "learner/dpo_options.h"
#include "learner/micro_batch.h"
#include "learner/training_sequence.h"
#include "model/llama.h"

namespace caravan::learner {

// Two tokenised responses to one prompt; each mask selects its response tokens.
struct PreferencePair {
  TrainingSequence chosen;
  TrainingSequence rejected;
};

// Means over the pairs of a batch (or of an evaluation set).
struct DpoMetrics {
  // -log sigmoid(chosen_reward - rejected_reward).
  double loss = 0;
  // beta * (policy - reference) sequence log-probability of the chosen / rejected responses.
  double chosen_reward = 0;
  double rejected_reward = 0;
  // chosen_reward - rejected_reward: how much more the policy prefers the chosen response than
  // the reference does (0 before training).
  double margin = 0;
  // Fraction of pairs with chosen_reward > rejected_reward (strictly: 0 before training).
  double accuracy = 0;
  int64_t pairs = 0;
};

struct DpoStepStats {
  // Of the batch, before the update.
  DpoMetrics metrics;
  // Global gradient L2 norm before clipping.
  double grad_norm = 0;
  double learning_rate = 0;
  // Response tokens of the batch (chosen and rejected).
  int64_t tokens = 0;
};

// Not thread-safe: one owner thread calls every method.
class DpoTrainer {
 public:
  // `policy` is shared with the caller and updated in place; the reference is a frozen copy of
  // its current weights. AdamW without weight decay. `options` are validated by the config
  // layer; out-of-range values (or an unknown loss name) are bugs (CARAVAN_CHECK).
  DpoTrainer(model::Llama policy, const DpoOptions& options, int32_t pad_id);

  // One optimizer step on `batch` (non-empty), its gradient summed over forward/backward passes
  // of whole pairs of at most [dpo] micro_batch_tokens tokens (a pair over the budget alone). Every sequence must pass
  // validate_training_sequence for the policy's config. Returns kInvalidArgument naming the
  // pair for bad input (weights untouched), kInternal if the gradient is not finite (update
  // skipped; the step still counts for the schedule).
  Result<DpoStepStats> step(const std::vector<PreferencePair>& batch);

  // The metrics of `pairs` under the current weights, without gradients or updates, in batches
  // of `batch_size` (>= 1). Errors as step()'s for bad input or no pairs.
  Result<DpoMetrics> evaluate(const std::vector<PreferencePair>& pairs, int64_t batch_size);

  // learning_rate x lr_multiplier of a constant schedule with warmup_steps (learner/lr_schedule.h).
  double learning_rate_at(int64_t step) const;
  int64_t steps_done() const { return steps_done_; }
  // From a checkpoint: the schedule continues after `steps` steps (>= 0, CARAVAN_CHECK).
  void restore_steps_done(int64_t steps);
  DpoLossType loss_type() const { return loss_type_; }

  model::Llama& policy() { return policy_; }
  torch::optim::AdamW& optimizer() { return optimizer_; }

 private:
  struct BatchTerms {
    DpoLossTerms terms;
    int64_t tokens = 0;
  };
  // Validates and lays out pairs [range.begin, range.end) of `pairs` (the chosen responses, then
  // the rejected ones; padded or packed as [dpo] pack_sequences says) and returns their loss
  // terms; the policy's forward records gradients unless the caller holds a NoGradGuard. `what`
  // prefixes errors, which name the pair's index in `pairs`.
  Result<BatchTerms> loss_terms(const std::vector<PreferencePair>& pairs, SequenceRange range, const char* what);

  model::Llama policy_;
  model::Llama reference_;
  DpoOptions options_;
  DpoLossType loss_type_;
  int32_t pad_id_;
  torch::optim::AdamW optimizer_;
  int64_t steps_done_ = 0;
};

// The batch means of `terms` (pairs = the batch size).
DpoMetrics dpo_metrics(const DpoLossTerms& terms);

} // namespace caravan::learner
