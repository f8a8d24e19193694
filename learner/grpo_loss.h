// File: learner/grpo_loss.h
// The clipped-surrogate GRPO objective with a k3 KL penalty against a frozen reference model,
// aggregated as a token-level mean over the whole batch (DAPO / Dr. GRPO style: every
// completion token weighs the same, long completions are not down-weighted).
//
//   learner::GrpoLossInputs in{.logprobs = lp, .old_logprobs = old_lp, .ref_logprobs = ref_lp,
//                              .advantages = adv, .mask = loss_mask};
//   learner::GrpoLossOutput out = learner::grpo_loss(in, {.clip_low = 0.2, .clip_high = 0.2,
//                                                         .kl_coef = 0.01});
//   out.loss.backward();
#pragma once

#include <ATen/ATen.h>

namespace caravan::learner {

// All [B,T] tensors share shape, floating dtype and device. Only `logprobs` needs a gradient;
// the others are treated as constants (detached inside grpo_loss).
struct GrpoLossInputs {
  // log pi_theta(token) under the current policy, [B,T]; usually requires grad.
  at::Tensor logprobs;
  // log pi_old(token) recorded by the rollout policy that sampled the token, [B,T].
  at::Tensor old_logprobs;
  // log pi_ref(token) under the frozen reference model, [B,T].
  at::Tensor ref_logprobs;
  // One advantage per sequence, [B].
  at::Tensor advantages;
  // 1 where the token is a completion token that contributes to the loss, 0 elsewhere, [B,T].
  at::Tensor mask;
  // Multiplier of each sequence's loss terms (policy and KL), [B], finite and >= 0: 1 for a
  // fresh sample, less for a down-weighted stale one. Undefined = 1 for every sequence.
  at::Tensor weights = {};
};

struct GrpoLossOptions {
  // The ratio is clipped to [1 - clip_low, 1 + clip_high]; each in (0, 1).
  double clip_low = 0.2;
  double clip_high = 0.2;
  // Weight of the k3 KL penalty, >= 0.
  double kl_coef = 0.0;
};

struct GrpoLossOutput {
  // Scalar loss, differentiable w.r.t. inputs.logprobs.
  at::Tensor loss;
  // Masked token mean of the k3 KL estimate (no gradient).
  double kl_mean = 0;
  // Fraction of masked tokens whose clipped branch was active, i.e. whose gradient was cut:
  // ratio > 1 + clip_high with A > 0, or ratio < 1 - clip_low with A < 0.
  double clip_fraction = 0;
};

// Per token t of sequence b, with A = advantages[b] and w = weights[b]:
//   ratio   = exp(logprobs - old_logprobs)
//   pg      = -min(ratio * A, clamp(ratio, 1 - clip_low, 1 + clip_high) * A)
//   k3      = exp(ref_logprobs - logprobs) - (ref_logprobs - logprobs) - 1     (>= 0)
//   loss_t  = w * (pg + kl_coef * k3)
//   loss    = sum(loss_t * mask) / sum(mask)
// The denominator does not depend on the weights: a down-weighted sample counts less, it does
// not shift its share onto the others. kl_mean and clip_fraction are unweighted.
// Where the mask is 0 the log-ratios are taken as 0 before exp(), so whatever a prompt or
// padding cell holds (a huge reference/policy gap, inf) the loss and its gradient stay finite
// and equal to those of the same batch without that cell.
// If the mask is all zero, loss = 0 (still a graph node, so backward() works) and the
// statistics are 0. Mismatched shapes are a bug (CARAVAN_CHECK throws InternalError).
// Thread-safe (pure function).
GrpoLossOutput grpo_loss(const GrpoLossInputs& inputs, const GrpoLossOptions& options);

} // namespace caravan::learner
