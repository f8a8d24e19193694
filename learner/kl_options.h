// File: learner/kl_options.h
// The KL penalty against the reference ([grpo] kl_*), taken by learner/kl_control.h.
// The run config (apps/run_config.h) holds one; apps/run_config_reader.cpp fills it from TOML.
#pragma once

#include <array>
#include <string_view>

namespace caravan::learner {

// The estimator of KL(pi_theta || pi_ref) per token, from x = log pi_theta - log pi_ref
// (Schulman, "Approximating KL divergence", 2020) (learner/kl_control.h).
enum class KlEstimator {
  // x: unbiased, can be negative.
  kK1,
  // x^2 / 2: biased, low variance.
  kK2,
  // exp(-x) + x - 1: unbiased, >= 0 (GRPO's).
  kK3,
};
inline constexpr std::array<KlEstimator, 3> kAllKlEstimators = {KlEstimator::kK1, KlEstimator::kK2,
                                                                KlEstimator::kK3};
// config.toml spelling: "k1", "k2", "k3".
constexpr std::string_view enum_name(KlEstimator estimator) {
  switch (estimator) {
    case KlEstimator::kK1: return "k1";
    case KlEstimator::kK2: return "k2";
    case KlEstimator::kK3: return "k3";
  }
  return "unknown";
}

// Where the KL penalty against the reference enters.
enum class KlPlacement {
  // A loss term coef x kl, aggregated like the policy loss (GRPO).
  kLoss,
  // Subtracted from the per-token reward before the advantage (InstructGPT/PPO, REINFORCE++).
  kReward,
};
inline constexpr std::array<KlPlacement, 2> kAllKlPlacements = {KlPlacement::kLoss, KlPlacement::kReward};
// config.toml spelling: "loss", "reward".
constexpr std::string_view enum_name(KlPlacement placement) {
  switch (placement) {
    case KlPlacement::kLoss: return "loss";
    case KlPlacement::kReward: return "reward";
  }
  return "unknown";
}

// [grpo] kl_*: learner/kl_control.h.
struct KlOptions {
  // [grpo] kl_estimator.
  KlEstimator estimator = KlEstimator::kK3;
  // [grpo] kl_placement.
  KlPlacement placement = KlPlacement::kLoss;
  // [grpo] kl_coef: the (initial) coefficient, >= 0; 0 = no penalty, and no reference model (no
  // frozen copy of the policy in memory, no reference forward pass).
  double coef = 0.01;
  // [grpo] kl_target: 0 = fixed coefficient; > 0 = the PPO adaptive controller (Ziegler et al.
  // 2019) steers the measured KL towards this value (nats per token).
  double target = 0.0;
  // [grpo] kl_horizon: the adaptive controller's horizon in samples, >= 1.
  double horizon = 10000.0;
};

} // namespace caravan::learner
