// File: learner/grpo_trainer.h
// One policy-gradient update of the GRPO family per call, each part chosen by the config
// ([grpo], GrpoOptions): the advantage estimator (learner/advantages.h), a teacher-forced
// forward of the policy and of a frozen reference copy with chunked logprobs and entropies
// (learner/chunked_logprobs.h), the KL penalty in the reward or in the loss with a fixed or
// adaptive coefficient (learner/kl_control.h), the off-policy correction against the rollout
// logprobs (learner/off_policy_correction.h), the surrogate loss and its aggregation
// (learner/policy_loss.h), the learning-rate schedule (learner/lr_schedule.h), gradient
// clipping and AdamW steps: [grpo] mini_batches x epochs of them per TrainBatch, each summing the
// gradients of micro-batches of at most micro_batch_tokens tokens, padded or packed
// (learner/batching_options.h, learner/micro_batch.h). With advantage_estimator = "gae" (PPO)
// a value model (learner/value_trainer.h) gives the values GAE needs and is updated on the
// clipped value loss.
//
//   model::Llama policy(config.model);               // after SFT
//   learner::GrpoTrainer trainer(policy, options.grpo, options.rollout, tokenizer->pad_id());
//   CARAVAN_ASSIGN_OR_RETURN(learner::GrpoStepStats stats, trainer.step(groups, policy_version));
//   for (const auto& [name, value] : stats.terms) log_info(str_cat(name, "=", value));
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <torch/optim/adamw.h>

#include "core/status.h"
#include "learner/data_parallel.h"
#include "learner/grpo_options.h"
#include "learner/kl_control.h"
#include "learner/policy_loss.h"
#include "learner/rollout_batch.h"
#include "learner/rollout_sampling.h"
#include "learner/value_trainer.h"
#include "model/llama.h"

namespace caravan::learner {

// With several optimizer steps per TrainBatch, losses and grad norms are means over the steps
// and fractions token-weighted means over every step's tokens.
struct GrpoStepStats {
  // Value of the loss that was differentiated (summed over the micro-batches of a step).
  double loss = 0;
  // Masked token mean of the KL estimate of the policy before the update against the reference
  // (the configured estimator); 0 without a reference (kl_coef = 0).
  double kl_mean = 0;
  // Fraction of completion tokens whose clipped branch was active (low + high).
  double clip_fraction = 0;
  // Global gradient L2 norm before clipping.
  double grad_norm = 0;
  // Mean reward over the judged samples of the step (0 when none was judged).
  double reward_mean = 0;
  // Fraction of the step's samples the verifiers could judge; when 0 the step made no update.
  double judged_fraction = 0;
  // Completion tokens trained on.
  int64_t tokens = 0;
  // Wall time of step(), seconds.
  double seconds = 0;
  // The loss terms and diagnostics the configured choices add, by name, in a fixed order per
  // configuration: policy_loss, entropy, kl_coef, clip_low_fraction, clip_high_fraction,
  // dual_clip_fraction (dual clip on), tis_truncated_fraction (TIS on), masked_fraction (IcePop
  // on), logprob_diff_max / logprob_diff_mean / logprob_tokens (the rollout engine's logprobs
  // against the learner's, on tokens of the current policy version), learning_rate, and with a
  // value model value_loss, value_clip_fraction, explained_variance (ValueUpdateStats). Empty
  // when the step made no update.
  std::vector<std::pair<std::string, double>> terms;
};

// What a checkpoint must restore beyond the weights and the optimizer.
struct GrpoTrainerState {
  // TrainBatches trained so far (step() calls that updated): the learning-rate schedule's
  // position. The schedule counts TrainBatches, not optimizer steps, so [grpo] steps stays its
  // horizon whatever mini_batches and epochs are.
  int64_t steps_done = 0;
  // The KL coefficient (moves under the adaptive controller).
  double kl_coef = 0;
};

// Not thread-safe: one owner thread calls step() and the accessors.
class GrpoTrainer {
 public:
  // `policy` is shared with the caller (a LibTorch module handle) and is updated in place.
  // The reference model is a frozen deep copy of its weights at construction (same config,
  // device and dtype; requires_grad false; eval mode), made only when options.kl.coef > 0: with
  // no KL penalty there is no reference, nor its memory and forward pass. From `rollout`: temperature (> 0), applied
  // to the logits before computing logprobs so that the ratio compares the policy with the
  // rollout distribution that sampled the tokens, and max_new_tokens (the constant aggregation's
  // denominator). Turns the policy's gradient checkpointing on or off as
  // options.gradient_checkpointing says. `value_trainer` is given exactly when
  // options.advantage.estimator is gae. Options are validated by the config layer; out-of-range
  // values are bugs (CARAVAN_CHECK).
  // With `data_parallel` (not null; it outlives the trainer) this is one rank of K: every rank
  // builds its trainer on the same weights and calls step() with its share of the same batch
  // (DataParallel::share, possibly no groups); the update equals one learner's on the whole batch
  // for every estimator, mini_batches and the value model (`value_trainer` then built with the
  // same `data_parallel`, CARAVAN_CHECK), and optimizer() holds the state of this rank's own
  // parameters only (ZeRO-1). The stats every rank returns are the whole batch's.
  GrpoTrainer(model::Llama policy, const GrpoOptions& options, const RolloutSampling& rollout,
              int32_t pad_id, std::unique_ptr<ValueTrainer> value_trainer = nullptr,
              DataParallel* data_parallel = nullptr);

  // The optimizer steps of one TrainBatch on `groups` (mini_batches x epochs; fewer mini-batches
  // when there are fewer judged samples: with data-parallel ranks, a mini-batch empty on every
  // rank makes no step). Advantages are computed once over whole groups; the
  // reference's logprobs, and with several steps the policy's (the ratio's denominator for all
  // of them), once before the first step. Every group needs a non-empty prompt and the same number
  // (>= 1) of samples; each sample's logprobs match its tokens one to one; completions may be
  // empty (no loss); weights are finite and >= 0. Token ids must be in the vocabulary and
  // prompt + completion must fit in max_position_embeddings. `policy_version` is the version of
  // the weights before this update: samples generated by it measure the engines' logprob
  // agreement. Returns kInvalidArgument naming the group (and sample) for bad input, before
  // touching the weights, and kInternal if the gradient is not finite (the update is then
  // skipped, with the TrainBatch's later ones; its earlier ones stay; the schedule and the KL
  // controller do not move). With a value model (PPO), its values V_old are computed once, by
  // the policy's micro-batches, before any update; then it makes the policy's mini_batches x
  // epochs optimizer steps over the same mini-batches and micro-batches, with the policy's
  // sequence weights and bf16 autocast (learner/value_trainer.h). A non-finite value gradient
  // skips that value step and its later ones (the policy's updates stay) and returns kInternal.
  Result<GrpoStepStats> step(const std::vector<RolloutGroup>& groups, uint64_t policy_version);

  model::Llama& policy() { return policy_; }
  // The frozen reference of the KL penalty, null when kl_coef = 0; a checkpoint restore
  // overwrites its weights.
  model::Llama* reference() { return reference_.is_empty() ? nullptr : &reference_; }
  torch::optim::AdamW& optimizer() { return optimizer_; }
  // The value model's trainer (PPO); null for the group estimators.
  ValueTrainer* value_trainer() { return value_trainer_.get(); }
  GrpoTrainerState state() const { return {.steps_done = steps_done_, .kl_coef = kl_controller_.coef()}; }
  // From a checkpoint: steps_done >= 0, kl_coef finite and >= 0 (CARAVAN_CHECK).
  void restore(const GrpoTrainerState& state);

 private:
  Status validate(const std::vector<RolloutGroup>& groups) const;

  model::Llama policy_;
  model::Llama reference_;
  GrpoOptions options_;
  double temperature_;
  int64_t max_new_tokens_;
  int32_t pad_id_;
  torch::optim::AdamW optimizer_;
  KlController kl_controller_;
  std::unique_ptr<ValueTrainer> value_trainer_;
  int64_t steps_done_ = 0;
  DataParallel* data_parallel_;
  // Empty without data-parallel ranks.
  SumOverRanks sum_over_ranks_;
};

} // namespace caravan::learner
