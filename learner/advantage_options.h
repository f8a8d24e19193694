// File: learner/advantage_options.h
// The advantage estimator and its options ([grpo] advantage_*), taken by learner/advantages.h.
// The run config (apps/run_config.h) holds one; apps/run_config_reader.cpp fills it from TOML.
#pragma once

#include <array>
#include <string_view>

namespace caravan::learner {

// How a sample's advantage is estimated from the rewards (learner/advantages.h).
enum class AdvantageEstimator {
  // GRPO (DeepSeekMath): (r - mean_group) / (std_group + eps), unbiased std.
  kGrpo,
  // Dr. GRPO (Liu et al. 2025, "Understanding R1-Zero-Like Training"): r - mean_group.
  kDrGrpo,
  // RLOO (Ahmadian et al. 2024): r - mean of the other judged samples of the group.
  kRloo,
  // REINFORCE++ (Hu 2025): per-token returns (or, with a group baseline, r - mean_group),
  // normalised over all completion tokens of the batch.
  kReinforcePlusPlus,
};
inline constexpr std::array<AdvantageEstimator, 4> kAllAdvantageEstimators = {
    AdvantageEstimator::kGrpo, AdvantageEstimator::kDrGrpo, AdvantageEstimator::kRloo,
    AdvantageEstimator::kReinforcePlusPlus};
// config.toml spelling: "grpo", "dr_grpo", "rloo", "reinforce_pp".
constexpr std::string_view enum_name(AdvantageEstimator estimator) {
  switch (estimator) {
    case AdvantageEstimator::kGrpo: return "grpo";
    case AdvantageEstimator::kDrGrpo: return "dr_grpo";
    case AdvantageEstimator::kRloo: return "rloo";
    case AdvantageEstimator::kReinforcePlusPlus: return "reinforce_pp";
  }
  return "unknown";
}

// [grpo] advantage_*: learner/advantages.h.
struct AdvantageOptions {
  // [grpo] advantage_estimator.
  AdvantageEstimator estimator = AdvantageEstimator::kGrpo;
  // [grpo] advantage_eps: added to the std before dividing (grpo, reinforce_pp), > 0.
  double eps = 1e-6;
  // [grpo] advantage_group_baseline: reinforce_pp only: subtract the group's mean reward before
  // the batch normalisation (OpenRLHF/verl "reinforce_plus_plus_baseline").
  bool group_baseline = false;
};

} // namespace caravan::learner
