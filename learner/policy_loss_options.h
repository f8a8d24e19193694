// File: learner/policy_loss_options.h
// The surrogate objective, its clipping and aggregation ([grpo] policy_loss, clip_*, loss_aggregation,
// entropy_coef), taken by learner/policy_loss.h.
// The run config (apps/run_config.h) holds one; apps/run_config_reader.cpp fills it from TOML.
#pragma once

#include <array>
#include <string_view>

namespace caravan::learner {

// The per-token surrogate objective (learner/policy_loss.h).
enum class PolicyLossKind {
  // PPO clipped surrogate (Schulman et al. 2017) with separate bounds (DAPO clip-higher) and an
  // optional dual clip (Ye et al. 2020).
  kPpo,
  // GSPO (Zheng et al. 2025): the clipped surrogate of the length-normalised sequence ratio.
  kGspo,
  // CISPO (MiniMax-M1, 2025): REINFORCE with a clipped, stop-gradient importance weight.
  kCispo,
};
inline constexpr std::array<PolicyLossKind, 3> kAllPolicyLossKinds = {PolicyLossKind::kPpo, PolicyLossKind::kGspo,
                                                                      PolicyLossKind::kCispo};
// config.toml spelling: "ppo", "gspo", "cispo".
constexpr std::string_view enum_name(PolicyLossKind kind) {
  switch (kind) {
    case PolicyLossKind::kPpo: return "ppo";
    case PolicyLossKind::kGspo: return "gspo";
    case PolicyLossKind::kCispo: return "cispo";
  }
  return "unknown";
}

// How per-token loss terms become one scalar (learner/policy_loss.h).
enum class LossAggregation {
  // Sum over all completion tokens of the batch / their number (DAPO).
  kTokenMean,
  // Mean over sequences of each sequence's token mean (the original GRPO; GSPO).
  kSequenceMeanTokenMean,
  // Sum over all completion tokens / (sequences x [rollout] max_new_tokens) (Dr. GRPO).
  kConstantDenominator,
};
inline constexpr std::array<LossAggregation, 3> kAllLossAggregations = {
    LossAggregation::kTokenMean, LossAggregation::kSequenceMeanTokenMean, LossAggregation::kConstantDenominator};
// config.toml spelling: "token_mean", "seq_mean_token_mean", "constant".
constexpr std::string_view enum_name(LossAggregation aggregation) {
  switch (aggregation) {
    case LossAggregation::kTokenMean: return "token_mean";
    case LossAggregation::kSequenceMeanTokenMean: return "seq_mean_token_mean";
    case LossAggregation::kConstantDenominator: return "constant";
  }
  return "unknown";
}

// [grpo] policy_loss, clip_*, loss_aggregation, entropy_coef: learner/policy_loss.h.
struct PolicyLossOptions {
  // [grpo] policy_loss.
  PolicyLossKind kind = PolicyLossKind::kPpo;
  // [grpo] clip_low / clip_high: the ratio (ppo), sequence ratio (gspo) or importance weight
  // (cispo) is clipped to [1 - clip_low, 1 + clip_high]. clip_low in (0, 1] (1 = no lower
  // bound, as MiniMax-M1 uses CISPO), clip_high > 0. DAPO: 0.2 / 0.28; GSPO: 3e-4 / 4e-4.
  double clip_low = 0.2;
  double clip_high = 0.2;
  // [grpo] dual_clip: ppo only: for A < 0 the token loss is at most dual_clip * |A|
  // (Ye et al. 2020); 0 = off, else > 1 (verl's default when on: 3).
  double dual_clip = 0.0;
  // [grpo] loss_aggregation.
  LossAggregation aggregation = LossAggregation::kTokenMean;
  // [grpo] entropy_coef: the loss subtracts entropy_coef x the aggregated token entropy, >= 0.
  double entropy_coef = 0.0;
};

} // namespace caravan::learner
