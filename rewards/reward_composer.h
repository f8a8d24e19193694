// File: rewards/reward_composer.h
// Turns a verifier's Verdict into the reward the learner trains on, by the rules of the sample's
// dataset source (core/reward_config.h), and records every step in a RewardBreakdown that goes
// into the run's sample files. Pure functions: no I/O, no state; thread-safe.
//
// Order of operations (each applied step is appended to RewardBreakdown::steps as name + value):
//  0. status timeout / error: final = 0.0, no rule is applied, the status is kept and
//     trainable() is false: the learner leaves the sample out instead of mistaking it for a wrong
//     answer. Status sandbox_violation: final = 0.0, no rule is applied, and trainable() is true:
//     the completion tried what the sandbox forbids, which is the model's doing, so it is trained
//     on as a failure (the one sandbox policy; see trainable()).
//  1. truncated and [non_stop] configured: final = non_stop_reward, step "non_stop" (value = that
//     reward). Nothing else is applied.
//  2. partial_credit = false and raw < 1: score = 0, step "all_or_nothing" (value = 0).
//  3. score *= weight, step "weight" (value = weight); always present.
//  4. [format] configured: score *= m where m = 1 if the pattern is found in the completion,
//     else multiplier_if_missing; step "format" (value = m).
//  5. [overlong] configured: score += overlong_penalty(), step "overlong" (value = the penalty,
//     in [-1, 0]).
//  final = score.
//
//   const core::SourceRewardOptions* rules = options->find(row.dataset);
//   RewardBreakdown b = compose_reward(*rules, options->version, "math", verdict,
//                                      {.completion = text, .completion_tokens = 812, .truncated = false});
//   if (b.trainable()) train_on(b.final_reward);
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/reward_config.h"
#include "rewards/verdict.h"

namespace caravan::rewards {

// What the composer needs to know about the sample besides the verdict.
struct SampleFacts {
  // The decoded completion, searched by the [format] rule. Only read during the call.
  std::string_view completion = {};
  // Number of generated tokens (EOS excluded). Range: >= 0.
  int64_t completion_tokens = 0;
  // True when generation stopped at the length limit without an EOS token.
  bool truncated = false;
};

// One applied rule.
struct RewardStep {
  // "non_stop", "all_or_nothing", "weight", "format" or "overlong".
  std::string name;
  // The replacement reward, the factor or the additive penalty (see the file comment).
  double value = 0.0;
};

// How one sample's reward was reached. A plain value.
struct RewardBreakdown {
  // Registry name of the verifier that judged the sample.
  std::string verifier;
  // The verifier's score in [0, 1].
  double raw_score = 0.0;
  VerdictStatus status = VerdictStatus::kError;
  // The verifier's detail text.
  std::string detail = {};
  // Applied rules, in order of application.
  std::vector<RewardStep> steps = {};
  // The reward to train on (meaningful only when trainable()).
  double final_reward = 0.0;
  // RewardOptions::version of the config that produced it.
  std::string config_version;

  // Whether the learner trains on final_reward: status ok, wrong or sandbox_violation (at 0.0).
  // Timeout and error say nothing about the completion: the sample is left out of the update and
  // of its group's baseline. This is the one place of that policy: the verifier sends it in the
  // Reward message (Reward.trainable) and the controller copies it into the TrainBatch.
  bool trainable() const;
};

// DAPO's soft overlong punishment for a completion of `completion_tokens` tokens, in [-1, 0]
// (formula in core::OverlongOptions). CARAVAN_CHECKs completion_tokens >= 0 and that `options`
// satisfies the documented ranges.
double overlong_penalty(const core::OverlongOptions& options, int64_t completion_tokens);

// Applies `rules` to `verdict` in the order documented above. `config_version` and
// `verifier_name` are copied into the breakdown. CARAVAN_CHECKs sample.completion_tokens >= 0
// and that a configured format rule has its compiled regex.
RewardBreakdown compose_reward(const core::SourceRewardOptions& rules, std::string_view config_version,
                               std::string_view verifier_name, const Verdict& verdict, const SampleFacts& sample);

} // namespace caravan::rewards
