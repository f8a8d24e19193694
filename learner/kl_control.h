// File: learner/kl_control.h
// The KL penalty against the frozen reference model: per-token estimators of
// KL(pi_theta || pi_ref) and the controller of their coefficient.
//
// Estimators, with x = log pi_theta(token) - log pi_ref(token) for a token sampled from pi_theta
// (Schulman 2020, "Approximating KL Divergence", http://joschu.net/blog/kl-approx.html; verl
// core_algos.kl_penalty's "kl", "mse", "low_var_kl"):
//   k1 = x                  unbiased, high variance, can be negative
//   k2 = x^2 / 2            biased, low variance, >= 0
//   k3 = exp(-x) + x - 1    unbiased, low variance, >= 0 (GRPO's)
//
// The adaptive coefficient is the PPO controller of Ziegler et al. 2019 ("Fine-Tuning Language
// Models from Human Preferences", arXiv 1909.08593; TRL's and verl's AdaptiveKLController):
//   e = clip(kl / target - 1, -0.2, 0.2);   coef <- coef * (1 + e * samples / horizon)
//
//   learner::KlController controller(options.kl);
//   at::Tensor kl = learner::kl_estimate(logprobs, ref_logprobs, mask, options.kl.estimator);
//   ... loss uses controller.coef() ...
//   controller.update(/*measured_kl=*/stats.kl_mean, /*samples=*/batch_size);
#pragma once

#include <cstdint>

#include <ATen/ATen.h>

#include "learner/kl_options.h"

namespace caravan::learner {

// The per-token estimate [B,T] (logprobs' dtype), differentiable w.r.t. logprobs, exactly 0
// where mask is 0 (x is taken as 0 there before exp(), so any gap in a prompt or padding cell is
// harmless). Shapes must agree (CARAVAN_CHECK). Thread-safe.
at::Tensor kl_estimate(const at::Tensor& logprobs, const at::Tensor& ref_logprobs, const at::Tensor& mask,
                       KlEstimator estimator);

// The coefficient of the KL penalty: fixed (options.target == 0) or adaptive. Its only state is
// the current coefficient, which checkpoints save and restore. Not thread-safe.
class KlController {
 public:
  // Options are validated by the config layer: coef >= 0, target >= 0, horizon >= 1.
  explicit KlController(const KlOptions& options);

  double coef() const { return coef_; }
  // Fixed: does nothing. Adaptive: the update above, from the KL measured on the step that just
  // trained (nats per token) and the number of samples it trained on (> 0).
  void update(double measured_kl, int64_t samples);
  // Sets the coefficient from a checkpoint; >= 0 and finite.
  void restore(double coef);

 private:
  KlOptions options_;
  double coef_;
};

} // namespace caravan::learner
