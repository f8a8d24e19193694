// File: learner/policy_loss.h
// The policy-gradient surrogate objectives of the PPO/GRPO family, their aggregation over
// tokens, the entropy bonus, the KL term (when the KL penalty sits in the loss), and the clipped
// value loss of PPO with a value model. Per token t of sequence b, with x = logprobs,
// x_old = old_logprobs, A = advantages[b][t], r = exp(x - x_old), eps_l/eps_h = clip_low/high:
//
//   ppo    pg = max(-A r, -A clip(r, 1 - eps_l, 1 + eps_h))           (Schulman et al. 2017;
//          separate bounds = DAPO's clip-higher, Yu et al. 2025, arXiv 2503.14476)
//          dual clip c > 1, for A < 0: pg = min(pg, -c A)             (Ye et al. 2020,
//          arXiv 1912.09729; verl compute_policy_loss_vanilla's clip_ratio_c)
//   gspo   s_b = exp(mean over b's completion tokens of (x - x_old))  (Zheng et al. 2025,
//          arXiv 2507.18071, the length-normalised sequence ratio)
//          pg = max(-A s, -A clip(s, 1 - eps_l, 1 + eps_h)), with the token form of the paper
//          (GSPO-token): s_{b,t} = sg[s_b] * exp(x_t - sg[x_t]) has the value s_b and the
//          gradient s_b * grad x_t, so for sequence-level A the gradient is the paper's
//          (verl compute_policy_loss_gspo). The paper aggregates seq_mean_token_mean.
//   cispo  pg = -sg[clip(r, 1 - eps_l, 1 + eps_h)] A x                (MiniMax-M1, arXiv
//          2506.13585, eq. 4-5): the weight is clipped but every token keeps its REINFORCE
//          gradient -w A grad x (verl compute_policy_loss_cispo).
//
//   token loss  l = w_b (c_t pg + kl_coef kl_t - entropy_coef H_t)
// with w_b the sequence weight (staleness down-weighting), c_t the off-policy correction weight
// (learner/off_policy_correction.h; it multiplies the surrogate only, as verl's
// rollout_is_weights do), kl_t the per-token KL estimate (learner/kl_control.h) and H_t the
// token entropy. The loss is aggregate(l) (see LossAggregation in learner/policy_loss_options.h; verl's
// agg_loss token-mean / seq-mean-token-mean / seq-mean-token-sum-norm).
//
//   learner::PolicyLossOutput out = learner::policy_loss(
//       {.logprobs = lp, .old_logprobs = old_lp, .advantages = adv, .mask = loss_mask}, options.loss);
//   out.loss.backward();
//
// Where the mask is 0 the log-ratios are taken as 0 before exp(), so whatever a prompt or padding
// cell holds (inf included) the loss and its gradient stay finite and equal those of the same
// batch without that cell. All [B,T] inputs share shape, floating dtype and device; only
// logprobs, kl and entropy carry gradients (the others are detached inside). Mismatched shapes
// are bugs (CARAVAN_CHECK). Thread-safe (pure functions).
#pragma once

#include <cstdint>

#include <ATen/ATen.h>

#include "core/status.h"
#include "learner/policy_loss_options.h"
#include "learner/sum_over_ranks.h"

namespace caravan::learner {

// The counts of the whole mini-batch one micro-batch belongs to (learner/micro_batch.h). With a
// scope the aggregations divide by these counts instead of the micro-batch's own, so the
// micro-batches' losses (and gradients) add up to the mini-batch's.
struct AggregationScope {
  // Masked tokens (token_mean).
  int64_t tokens = 0;
  // Sequences with at least one masked token (seq_mean_token_mean).
  int64_t sequences_with_tokens = 0;
  // Sequences (constant: B).
  int64_t sequences = 0;
};

// The scope of a [B,T] mask taken whole.
AggregationScope aggregation_scope(const at::Tensor& mask);

// The scope of a mini-batch whose parts data-parallel ranks hold: each rank's `local` scope
// summed over the ranks (a collective, learner/sum_over_ranks.h), so every rank normalises by
// the whole mini-batch's counts; `local` itself when `sum_over_ranks` is empty. Exact for counts
// below 2^24 (float32 on the wire).
Result<AggregationScope> whole_scope(const AggregationScope& local, const SumOverRanks& sum_over_ranks);

struct PolicyLossInputs {
  // log pi_theta(token), [B,T]; usually requires grad.
  at::Tensor logprobs;
  // log pi_old(token), the ratio's denominator, [B,T].
  at::Tensor old_logprobs;
  // Per-token advantages, [B,T] (a sequence-level advantage repeated over its tokens).
  at::Tensor advantages;
  // 1 where the token is a completion token that contributes to the loss, 0 elsewhere, [B,T].
  at::Tensor mask;
  // w_b, [B], finite and >= 0: 1 for a fresh sample, less for a down-weighted stale one.
  // Undefined = 1. Denominators do not depend on it: a down-weighted sample counts less, it
  // does not shift its share onto the others.
  at::Tensor sequence_weights = {};
  // c_t, [B,T], finite and >= 0, no gradient. Undefined = 1.
  at::Tensor correction_weights = {};
  // kl_t, [B,T], with gradient, 0 outside the mask; undefined = no KL term.
  at::Tensor kl = {};
  double kl_coef = 0.0;
  // H_t, [B,T], with gradient; required when options.entropy_coef > 0, else only reported.
  at::Tensor entropy = {};
  // The constant aggregation's per-sequence token budget ([rollout] max_new_tokens), >= 1 when
  // options.aggregation is kConstantDenominator.
  int64_t max_tokens = 0;
  // The mini-batch's counts when these rows are one micro-batch of it; null = these rows alone.
  const AggregationScope* scope = nullptr;
};

struct PolicyLossOutput {
  // Scalar loss, differentiable w.r.t. logprobs, kl and entropy.
  at::Tensor loss;
  // The aggregated surrogate term alone (c_t pg, weighted), for reporting.
  double policy_loss = 0;
  // Over the masked tokens: fraction whose clipped branch cut the gradient at the upper bound
  // (A > 0, ratio > 1 + eps_h) and at the lower bound (A < 0, ratio < 1 - eps_l); for cispo,
  // whose weight was clipped above / below (any A).
  double clip_high_fraction = 0;
  double clip_low_fraction = 0;
  // ppo with dual clip: fraction of masked tokens where the -c A bound applied (A < 0, r > c).
  double dual_clip_fraction = 0;
  // Masked token mean of kl (0 when undefined) and of the entropy (0 when undefined).
  double kl_mean = 0;
  double entropy_mean = 0;
};

// Aggregates token values [B,T] over the mask (0/1) into a scalar with gradient:
//   token_mean           sum(v m) / sum(m)
//   seq_mean_token_mean  mean over rows with sum_t m > 0 of sum_t(v m) / sum_t m
//   constant             sum(v m) / (B * max_tokens)
// with sum(m), the number of rows with sum_t m > 0 and B taken from `scope` when given.
// An all-zero mask gives 0 (still a graph node, so backward() works).
at::Tensor aggregate(const at::Tensor& values, const at::Tensor& mask, learner::LossAggregation aggregation,
                     int64_t max_tokens, const AggregationScope* scope = nullptr);

PolicyLossOutput policy_loss(const PolicyLossInputs& inputs, const PolicyLossOptions& options);

struct ValueLossInputs {
  // V_theta per token, [B,T], with gradient.
  at::Tensor values;
  // V_old recorded when the advantages were computed, [B,T].
  at::Tensor old_values;
  // The regression targets (GaeResult::returns), [B,T].
  at::Tensor returns;
  at::Tensor mask;
  // w_b, [B], finite and >= 0, as PolicyLossInputs::sequence_weights (a stale sample's
  // down-weighting); undefined = 1. Denominators do not depend on it.
  at::Tensor sequence_weights = {};
  // The mini-batch's counts when these rows are one micro-batch of it; null = these rows alone.
  const AggregationScope* scope = nullptr;
};

struct ValueLossOutput {
  at::Tensor loss;
  // Fraction of masked tokens where the clipped branch was the larger (its gradient is cut).
  double clip_fraction = 0;
};

// PPO's clipped value loss (OpenAI baselines ppo2; verl compute_value_loss):
//   l_t = 0.5 w_b max((V - R)^2, (V_old + clip(V - V_old, -clip_range, clip_range) - R)^2)
// aggregated with `aggregation` (max_tokens and inputs.scope as for aggregate()). clip_range > 0.
// The clip fraction is unweighted (a fraction of tokens, as the policy's clip fractions).
ValueLossOutput clipped_value_loss(const ValueLossInputs& inputs, double clip_range,
                                   LossAggregation aggregation, int64_t max_tokens);

} // namespace caravan::learner
