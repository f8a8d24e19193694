// File: learner/value_trainer.h
// The value model's side of a PPO step, behind two calls the RL step makes: values() before the
// advantages (V_old, the GAE input and the clipped value loss's reference) and update() after
// them (AdamW steps on PPO's clipped value loss towards the GAE returns). Both follow the
// policy's cut of the TrainBatch (learner/micro_batch.h, ValueBatch): forward/backward passes of
// at most micro_batch_tokens tokens, padded or packed, and mini_batches x epochs optimizer steps,
// each from the gradients its micro-batches accumulated, normalised by the whole mini-batch's
// counts, so that a micro-batched step equals the one-pass step (within fp32 rounding). The two
// models share no parameters, so the value model's steps over the same mini-batches give the
// same result whether they interleave with the policy's or follow them. The value model has its
// own optimizer, learning rate (with an optional linear warm-up) and loss coefficient
// ([value_model], learner/value_model_options.h); the gradient clipping threshold, the loss
// aggregation, the sequence (staleness) weights and bf16 autocast are the policy's.
// With data-parallel ranks (learner/data_parallel.h) it is one rank's value model: every rank
// holds the same weights and its share of the batch, normalises its loss by the mini-batch's
// counts summed over the ranks, sums the gradients over the ranks before each step and keeps
// AdamW state for the parameters it owns only (ZeRO-1, as the policy: the value model is a
// policy-sized copy, so replicating its moments would undo half of the policy's saving); the
// owners then share their updated parameters. The update equals one learner's on the whole
// batch, and the reported terms are the whole batch's.
//
//   learner::ValueTrainer critic(learner::value_model_from_policy(policy), config.value_model, update_options);
//   learner::ValueBatch batch{.plan = plan, .epochs = 2, .lay_out = lay_out, .mask = mask};
//   CARAVAN_ASSIGN_OR_RETURN(at::Tensor old_values, critic.values(batch));
//   AdvantageEstimate estimate = estimate_advantages({..., .values = old_values}, options.advantage);
//   CARAVAN_ASSIGN_OR_RETURN(ValueUpdateStats stats, critic.update(batch, old_values, estimate.returns));
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>

#include <ATen/ATen.h>
#include <torch/optim/adamw.h>

#include "core/status.h"
#include "learner/data_parallel.h"
#include "learner/micro_batch.h"
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
  // The forward passes (values() and update()) run under bf16 autocast (learner/autocast.h);
  // the parameters, their gradients and the optimizer state stay float32.
  bool bf16_autocast = false;
};

// A TrainBatch of B sequences as the policy's update cuts it. The tensors are on the value
// model's device; the callable and the tensors must stay valid during the call they are given to.
struct ValueBatch {
  // The optimizer steps of one epoch (plan_mini_batches); their micro-batches tile the B
  // sequences in order.
  std::span<const MiniBatch> plan;
  // Passes over `plan`, >= 1.
  int64_t epochs = 1;
  // Sequences [begin, end) laid out for one forward (the policy's row layout); its errors are
  // returned by the calls.
  std::function<Result<SequenceBatch>(SequenceRange)> lay_out;
  // [B,T] float32: 1 on the completion tokens of each sequence's per-sequence row
  // (learner/sequence_batch.h per_sequence), T >= every micro-batch's columns.
  at::Tensor mask;
  // w_b [B], finite and >= 0: the policy loss's sequence weights (a stale sample's down-weighting,
  // learner/policy_loss.h); undefined = 1.
  at::Tensor sequence_weights = {};
};

// Over the update()'s optimizer steps, as GrpoStepStats reports the policy's.
struct ValueUpdateStats {
  // The clipped value loss (weighted, without loss_coef) before each optimizer step, summed over
  // the step's micro-batches (the mini-batch's loss); the mean over the steps.
  double loss = 0;
  // Fraction of completion tokens whose clipped branch was the larger, over every micro-batch of
  // every step (token-weighted).
  double clip_fraction = 0;
  // 1 - Var(returns - V_old) / (Var(returns) + 1e-5) over the whole batch's completion tokens
  // (verl's critic/vf_explained_var): 1 = perfect, 0 = no better than a constant.
  double explained_variance = 0;
  // Global gradient L2 norm before clipping, the mean over the steps.
  double grad_norm = 0;
  double learning_rate = 0;
};

// Not thread-safe: one owner thread.
class ValueTrainer {
 public:
  // Options are validated by the config layer; out-of-range values are bugs (CARAVAN_CHECK).
  // With `data_parallel` (not null; it outlives the trainer) this is one rank of K, every rank
  // built on the same weights; optimizer() then holds the state of this rank's own parameters
  // (DataParallel::owned_parameters), and values() and update() are collectives that every rank
  // calls, each on its share of the batch (possibly none: B = 0, every mini-batch empty).
  ValueTrainer(ValueModel model, const ValueModelOptions& options, const ValueUpdateOptions& update,
               DataParallel* data_parallel = nullptr);

  // V_old of every sequence: [B,T] float32 like batch.mask (0 past a sequence's end), without
  // gradient, computed by the plan's micro-batches (one epoch).
  Result<at::Tensor> values(const ValueBatch& batch);

  // batch.epochs x batch.plan.size() AdamW steps, each on loss_coef x the clipped value loss
  // (learner/policy_loss.h, the options' clip range, weighted by batch.sequence_weights) of its
  // mini-batch, accumulated over the mini-batch's micro-batches. A mini-batch without sequences
  // (on every rank, with ranks) makes no step. old_values and returns: [B,T]
  // like batch.mask; every step clips against the same old_values. Every step of one call uses
  // the same learning rate. kInternal if a gradient is not finite: that step and the call's later
  // ones are skipped (the earlier ones stay) and the warm-up does not move.
  Result<ValueUpdateStats> update(const ValueBatch& batch, const at::Tensor& old_values, const at::Tensor& returns);

  ValueModel& model() { return model_; }
  torch::optim::AdamW& optimizer() { return optimizer_; }
  // The ranks given to the constructor (null for one learner).
  DataParallel* data_parallel() const { return data_parallel_; }
  // update() calls completed so far (TrainBatches; the warm-up's position, as the policy's
  // schedule counts TrainBatches). A checkpoint stores and restores it.
  int64_t steps_done() const { return steps_done_; }
  // steps_done >= 0 (CARAVAN_CHECK).
  void restore(int64_t steps_done);

 private:
  // V of the sequences of `range`, laid out by `batch`: [b, T_b] float32 (per_sequence), with
  // gradient unless the caller holds a NoGradGuard; under bf16 autocast when the options say so.
  Result<at::Tensor> sequence_values(const ValueBatch& batch, SequenceRange range);

  ValueModel model_;
  ValueModelOptions options_;
  ValueUpdateOptions update_;
  DataParallel* data_parallel_;
  // Empty without data-parallel ranks.
  SumOverRanks sum_over_ranks_;
  torch::optim::AdamW optimizer_;
  int64_t steps_done_ = 0;
};

// The value trainer [value_model] asks for, or null when it asks for none: its model copied
// from `policy` (source = "policy", value_model_from_policy) or loaded from `options.path` in
// `dtype` (load_value_model, whose errors are returned). `data_parallel` as for the constructor:
// every rank builds it from the same policy weights or file.
Result<std::unique_ptr<ValueTrainer>> make_value_trainer(const ValueModelOptions& options, const model::Llama& policy,
                                                         at::ScalarType dtype, const ValueUpdateOptions& update,
                                                         DataParallel* data_parallel = nullptr);

} // namespace caravan::learner
