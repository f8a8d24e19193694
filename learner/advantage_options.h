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
  // GAE (Schulman et al. 2016) over per-token values of a value model ([value_model]): PPO.
  kGae,
};
inline constexpr std::array<AdvantageEstimator, 5> kAllAdvantageEstimators = {
    AdvantageEstimator::kGrpo, AdvantageEstimator::kDrGrpo, AdvantageEstimator::kRloo,
    AdvantageEstimator::kReinforcePlusPlus, AdvantageEstimator::kGae};
// config.toml spelling: "grpo", "dr_grpo", "rloo", "reinforce_pp", "gae".
constexpr std::string_view enum_name(AdvantageEstimator estimator) {
  switch (estimator) {
    case AdvantageEstimator::kGrpo: return "grpo";
    case AdvantageEstimator::kDrGrpo: return "dr_grpo";
    case AdvantageEstimator::kRloo: return "rloo";
    case AdvantageEstimator::kReinforcePlusPlus: return "reinforce_pp";
    case AdvantageEstimator::kGae: return "gae";
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
  // [grpo] gae_gamma / gae_lambda: gae only: the discount and the GAE lambda, both in [0, 1]
  // (Tülu 3: 1 and 0.95).
  double gae_gamma = 1.0;
  double gae_lambda = 0.95;
  // [grpo] gae_whiten: gae only: whiten the advantages over all completion tokens of the batch
  // (the value targets stay unwhitened), as verl and OpenRLHF do.
  bool gae_whiten = true;
};

} // namespace caravan::learner
