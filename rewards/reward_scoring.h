// File: rewards/reward_scoring.h
// The one scoring path of a reward item. The live verifier (VerifierWorker, whose VerifierPool
// threads run step 2) and `caravan reward-test` both call these functions, so a rule tried with
// reward-test scores exactly as it will in a run:
//  1. plan_scoring(): the item's source selects its rules ([source.NAME], else [source.default]);
//     the rules' verifier, when they name one, judges the item, else the item's own verifier.
//     Without a reward config the verifier's score is the reward (weight 1, no other rule,
//     config version ""). A source without rules is not judged: status error naming the source
//     and the config version.
//  2. judge(): runs the verifier and never throws. An unknown verifier name, an exception, or a
//     NaN or infinite score (or one beyond float32, the message's type) becomes status error
//     naming the verifier.
//  3. finish_scoring(): composes the verdict under the rules (rewards/reward_composer.h). A NaN
//     or infinite final reward (whatever rule produced it) becomes status error with reward 0:
//     only finite numbers reach a GRPO group.
//  4. write_reward(): the breakdown as the Reward message the controller receives; its JSON
//     (sample files, reward-test --out) is core::reward_record() of that message.
//
//   RewardBreakdown breakdown = score_item(registry, options.get(), item);  // 1-3 on this thread
//   // or step by step, judging on another thread:
//   ScoringPlan plan = plan_scoring(options.get(), item);       // options may be null
//   Verdict verdict = plan.unjudged ? *plan.unjudged
//                                   : judge(registry, plan.verifier, item.completion, item.ground_truth,
//                                           plan.settings);
//   RewardBreakdown breakdown = finish_scoring(plan, verdict, item);
//   write_reward(breakdown, reward_builder);
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "core/reward_config.h"
#include "proto/caravan.capnp.h"
#include "rewards/reward_composer.h"
#include "rewards/verifier_registry.h"

namespace caravan::rewards {

// One completion to score, as a RewardItem (proto/caravan.capnp) or a reward-test line carries
// it. The views are only read during the calls that take the item.
struct ScoringItem {
  // Registry name of the verifier the dataset row names.
  std::string_view verifier = {};
  // Dataset source selecting the reward rules; "" = [source.default].
  std::string_view source = {};
  std::string_view ground_truth = {};
  std::string_view completion = {};
  // Generated tokens, EOS excluded, >= 0. A run always knows it; a labelled sample may not, and
  // then an [overlong] rule cannot be applied (plan_scoring: status error, never a guess of 0).
  std::optional<int64_t> completion_tokens = std::nullopt;
  // Stopped by the length limit without EOS.
  bool truncated = false;
};

// How one item is scored. A plain value.
struct ScoringPlan {
  // The rules applied; never null. Points into the RewardOptions given to plan_scoring() (which
  // must outlive the plan) or, without a config, to static raw-score rules.
  const core::SourceRewardOptions* rules = nullptr;
  // Registry name of the verifier that judges the item.
  std::string verifier;
  // RewardOptions::version, "" without a config.
  std::string config_version;
  // What the rules tell the verifier (numeric_tolerance); defaults without a config.
  VerifySettings settings;
  // Set when the item must not be judged: the verdict it gets instead (status error and why).
  std::optional<Verdict> unjudged;
};

// Step 1. `options` may be null (no reward config). An [overlong] rule for an item without
// completion_tokens makes the item unjudged (status error naming the source). Pure; thread-safe.
ScoringPlan plan_scoring(const core::RewardOptions* options, const ScoringItem& item);

// Step 2. Thread-safe as long as `registry` is not modified. Never throws; the returned score is
// finite as a float32.
Verdict judge(const VerifierRegistry& registry, std::string_view verifier, std::string_view completion,
              std::string_view ground_truth, const VerifySettings& settings);

// Step 3. `verdict` is plan.unjudged or what judge() returned for the plan. Pure; thread-safe.
// The breakdown's raw_score and final_reward are finite as float32.
RewardBreakdown finish_scoring(const ScoringPlan& plan, const Verdict& verdict, const ScoringItem& item);

// Steps 1-3 on the caller's thread (`caravan reward-test`, `caravan eval`). Thread-safe as
// judge() is.
RewardBreakdown score_item(const VerifierRegistry& registry, const core::RewardOptions* options,
                           const ScoringItem& item);

proto::RewardStatus to_reward_status(VerdictStatus status);

// Step 4: fills every field of `reward` but the item ids (promptId, sampleIndex).
void write_reward(const RewardBreakdown& breakdown, proto::Reward::Builder reward);

// The breakdown in the sample files' layout (core/reward_record.h), through the Reward message a
// verifier would send, so offline scorers write exactly what a run writes.
nlohmann::json reward_record(const RewardBreakdown& breakdown);

} // namespace caravan::rewards
