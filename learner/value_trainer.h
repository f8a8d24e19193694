// File: learner/value_trainer.h
// The value model's side of a PPO step, behind two calls the RL step makes: values() before the
// advantages (V_old, the GAE input) and update() after them (one AdamW step on PPO's clipped
// value loss towards the GAE returns). The value model has its own optimizer, learning rate
// (with an optional linear warm-up) and loss coefficient ([value_model],
// learner/value_model_options.h); the gradient clipping threshold and the loss aggregation are
// the policy's.
//
//   learner::ValueTrainer critic(learner::value_model_from_policy(policy), config.value_model, update_options);
//   at::Tensor old_values = critic.values(batch);
//   AdvantageEstimate estimate = estimate_advantages({..., .values = old_values}, options.advantage);
//   CARAVAN_ASSIGN_OR_RETURN(ValueUpdateStats stats, critic.update(batch, old_values, estimate.returns));
#pragma once

#include <cstdint>
#include <memory>

#include <ATen/ATen.h>
#include <torch/optim/adamw.h>

#include "core/status.h"
#include "learner/policy_loss_options.h"
#include "learner/sequence_batch.h"
#include "learner/value_model.h"
#include "learner/value_model_options.h"

namespace caravan::learner {

// What the value update shares with the policy's.
struct ValueUpdateOptions {
  // Global gradient L2 norm bound, > 0.
  double max_grad_norm = 1.0;
  // How the token losses become one scalar (learner/policy_loss.h aggregate()).
  LossAggregation aggregation = LossAggregation::kTokenMean;
  // The constant aggregation's per-sequence token budget (>= 1 when it is used).
  int64_t max_tokens = 0;
  bool gradient_checkpointing = false;
};

struct ValueUpdateStats {
  // The clipped value loss before the update (without loss_coef).
  double loss = 0;
  // Fraction of completion tokens whose clipped branch was the larger.
  double clip_fraction = 0;
  // 1 - Var(returns - V) / (Var(returns) + 1e-5) over the completion tokens, V the values before
  // the update (verl's critic/vf_explained_var): 1 = perfect, 0 = no better than a constant.
  double explained_variance = 0;
  double grad_norm = 0;
  double learning_rate = 0;
};

// Not thread-safe: one owner thread.
class ValueTrainer {
 public:
  // Options are validated by the config layer; out-of-range values are bugs (CARAVAN_CHECK).
  ValueTrainer(ValueModel model, const ValueModelOptions& options, const ValueUpdateOptions& update);

  // V_old: [B, L-1] float32 on the model's device, without gradient, aligned with batch.targets.
  at::Tensor values(const SequenceBatch& batch);

  // One AdamW step on loss_coef x clipped_value_loss(V, old_values, returns, batch.loss_mask)
  // with the options' clip range. old_values and returns: [B, L-1] as values() returns.
  // kInternal if the gradient is not finite (the update is skipped and the warm-up does not move).
  Result<ValueUpdateStats> update(const SequenceBatch& batch, const at::Tensor& old_values, const at::Tensor& returns);

  ValueModel& model() { return model_; }
  torch::optim::AdamW& optimizer() { return optimizer_; }
  // Updates made so far: the warm-up's position. A checkpoint stores and restores it.
  int64_t steps_done() const { return steps_done_; }
  // steps_done >= 0 (CARAVAN_CHECK).
  void restore(int64_t steps_done);

 private:
  ValueModel model_;
  ValueModelOptions options_;
  ValueUpdateOptions update_;
  torch::optim::AdamW optimizer_;
  int64_t steps_done_ = 0;
};

// The value trainer [value_model] asks for, or null when it asks for none: its model copied
// from `policy` (source = "policy", value_model_from_policy) or loaded from `options.path` in
// `dtype` (load_value_model, whose errors are returned).
Result<std::unique_ptr<ValueTrainer>> make_value_trainer(const ValueModelOptions& options, const model::Llama& policy,
                                                         at::ScalarType dtype, const ValueUpdateOptions& update);

} // namespace caravan::learner
