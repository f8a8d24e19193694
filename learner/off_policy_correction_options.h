// File: learner/off_policy_correction_options.h
// The rollout/learner mismatch correction ([grpo] tis_cap, mask_ratio_*), taken by
// learner/off_policy_correction.h.
// The run config (apps/run_config.h) holds one; apps/run_config_reader.cpp fills it from TOML.
#pragma once

namespace caravan::learner {

// [grpo] tis_cap, mask_ratio_*: learner/off_policy_correction.h. The ratio is
// pi_learner(token) / pi_rollout(token), the learner's recomputation against the logprob the
// rollout engine recorded. Any correction on makes the PPO ratio's denominator the learner's
// own recomputation, so that the rollout/learner gap is carried by the correction alone.
struct OffPolicyCorrectionOptions {
  // [grpo] tis_cap: truncated importance sampling: each token's loss is multiplied by
  // min(ratio, tis_cap); 0 = off, else >= 1 (Yao et al. 2025 use 2).
  double tis_cap = 0.0;
  // [grpo] mask_ratio_low / mask_ratio_high: IcePop-style: tokens whose ratio leaves
  // [low, high] get no gradient. Both 0 = off; else 0 <= low < 1 < high (IcePop: 0.5 / 5).
  double mask_low = 0.0;
  double mask_high = 0.0;

  bool enabled() const { return tis_cap > 0 || mask_high > 0; }
};

} // namespace caravan::learner
