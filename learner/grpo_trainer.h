// File: learner/grpo_trainer.h
// One GRPO update per call: group-relative advantages, a teacher-forced forward of the policy
// and of a frozen reference copy, the clipped-surrogate + k3-KL loss (learner/grpo_loss.h),
// gradient clipping and an AdamW step.
//
//   model::Llama policy(config.model);               // after SFT
//   learner::GrpoTrainer trainer(policy, config.grpo, config.rollout.temperature, tokenizer->pad_id());
//   CARAVAN_ASSIGN_OR_RETURN(learner::GrpoStepStats stats, trainer.step(groups));
//   log_info(str_cat("loss=", stats.loss, " kl=", stats.kl_mean));
#pragma once

#include <cstdint>
#include <vector>

#include <torch/optim/adamw.h>

#include "core/run_config.h"
#include "core/status.h"
#include "learner/rollout_batch.h"
#include "model/llama.h"

namespace caravan::learner {

struct GrpoStepStats {
  // Value of the loss that was differentiated.
  double loss = 0;
  // Masked token mean of the k3 KL estimate against the reference.
  double kl_mean = 0;
  // Fraction of completion tokens whose clipped branch was active.
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
};

// Not thread-safe: one owner thread calls step() and the accessors.
class GrpoTrainer {
 public:
  // `policy` is shared with the caller (a LibTorch module handle) and is updated in place.
  // The reference model is a frozen deep copy of its weights at construction (same config,
  // device and dtype; requires_grad false; eval mode). `temperature` is the rollout sampling
  // temperature (> 0), applied to the logits before computing logprobs so that the ratio
  // compares the policy with the rollout distribution that sampled the tokens. Options are
  // validated by the config layer; out-of-range values are bugs (CARAVAN_CHECK).
  GrpoTrainer(model::Llama policy, const core::GrpoOptions& options, double temperature, int32_t pad_id);

  // One optimizer step on `groups`. Every group needs a non-empty prompt and the same number
  // (>= 1) of samples; each sample's logprobs match its tokens one to one; completions may be
  // empty (no loss); weights are finite and >= 0. Token ids must be in the vocabulary and
  // prompt + completion must fit in max_position_embeddings. Returns kInvalidArgument naming
  // the group (and sample) for bad input, before touching the weights, and kInternal if the
  // gradient is not finite (the update is then skipped).
  Result<GrpoStepStats> step(const std::vector<RolloutGroup>& groups);

  model::Llama& policy() { return policy_; }
  // The frozen reference of the KL penalty; a checkpoint restore overwrites its weights.
  model::Llama& reference() { return reference_; }
  torch::optim::AdamW& optimizer() { return optimizer_; }

 private:
  Status validate(const std::vector<RolloutGroup>& groups) const;

  model::Llama policy_;
  model::Llama reference_;
  core::GrpoOptions options_;
  double temperature_;
  int32_t pad_id_;
  torch::optim::AdamW optimizer_;
};

} // namespace caravan::learner
