#include "rewards/reward_scoring.h"

#include <cmath>
#include <exception>
#include <limits>

#include <capnp/message.h>

#include "core/reward_record.h"

namespace caravan::rewards {
namespace {

// The rules without a reward config: the verifier's score is the reward.
const core::SourceRewardOptions kRawScoreRules{};

std::string source_name(std::string_view source) {
  return std::string(source.empty() ? core::RewardOptions::kDefaultSource : source);
}

// Whether `value` stays finite as the float32 the Reward message carries (NaN fails too).
bool finite_in_message(double value) { return std::abs(value) <= std::numeric_limits<float>::max(); }

Verdict run_verifier(const Verifier& verifier, std::string_view completion, std::string_view ground_truth,
                     const VerifySettings& settings) {
  try {
    return verifier.verify(completion, ground_truth, settings);
  } catch (const std::exception& e) {
    return {0.0, VerdictStatus::kError, str_cat("verifier '", verifier.name(), "' threw: ", e.what())};
  } catch (...) {
    return {0.0, VerdictStatus::kError, str_cat("verifier '", verifier.name(), "' threw a non-std exception")};
  }
}

}  // namespace

ScoringPlan plan_scoring(const core::RewardOptions* options, const ScoringItem& item) {
  ScoringPlan plan;
  plan.rules = &kRawScoreRules;
  plan.verifier = std::string(item.verifier);
  if (options == nullptr) return plan;
  plan.config_version = options->version;
  const core::SourceRewardOptions* rules = options->find(item.source);
  if (rules == nullptr) {
    plan.unjudged = Verdict{0.0, VerdictStatus::kError,
                            str_cat("reward config ", options->version, " has no [source.", source_name(item.source),
                                    "] and no [source.default]")};
    return plan;
  }
  plan.rules = rules;
  if (!rules->verifier.empty()) plan.verifier = rules->verifier;
  plan.settings.numeric_tolerance = rules->numeric_tolerance;
  if (rules->overlong && !item.completion_tokens) {
    plan.unjudged = Verdict{0.0, VerdictStatus::kError,
                            str_cat("[source.", source_name(item.source),
                                    ".overlong] needs the sample's completion_tokens, which is missing")};
  }
  return plan;
}

Verdict judge(const VerifierRegistry& registry, std::string_view verifier, std::string_view completion,
              std::string_view ground_truth, const VerifySettings& settings) {
  Result<const Verifier*> found = registry.find(verifier);
  if (!found.ok()) return {0.0, VerdictStatus::kError, found.status().message()};
  Verdict verdict = run_verifier(**found, completion, ground_truth, settings);
  if (!finite_in_message(verdict.score)) {
    verdict = {0.0, VerdictStatus::kError,
               str_cat("verifier '", verifier, "' returned the non-finite score ", verdict.score, " with status ",
                       verdict_status_name(verdict.status), verdict.detail.empty() ? "" : ": ", verdict.detail)};
  }
  return verdict;
}

RewardBreakdown score_item(const VerifierRegistry& registry, const core::RewardOptions* options,
                           const ScoringItem& item) {
  const ScoringPlan plan = plan_scoring(options, item);
  const Verdict verdict =
      plan.unjudged ? *plan.unjudged : judge(registry, plan.verifier, item.completion, item.ground_truth, plan.settings);
  return finish_scoring(plan, verdict, item);
}

RewardBreakdown finish_scoring(const ScoringPlan& plan, const Verdict& verdict, const ScoringItem& item) {
  CARAVAN_CHECK(plan.rules != nullptr, "scoring plan without rules");
  RewardBreakdown breakdown =
      compose_reward(*plan.rules, plan.config_version, plan.verifier, verdict,
                     {.completion = item.completion, .completion_tokens = item.completion_tokens.value_or(0),
                      .truncated = item.truncated});
  if (!finite_in_message(breakdown.raw_score) || !finite_in_message(breakdown.final_reward)) {
    breakdown.detail = str_cat("the reward rules of [source.", source_name(item.source), "] (config ",
                               plan.config_version.empty() ? "none" : plan.config_version, ") gave the non-finite reward ",
                               breakdown.final_reward, " for verifier '", plan.verifier, "' score ",
                               breakdown.raw_score, " with status ", verdict_status_name(breakdown.status));
    breakdown.status = VerdictStatus::kError;
    breakdown.raw_score = finite_in_message(breakdown.raw_score) ? breakdown.raw_score : 0.0;
    breakdown.final_reward = 0.0;
    breakdown.steps.clear();
  }
  return breakdown;
}

proto::RewardStatus to_reward_status(VerdictStatus status) {
  switch (status) {
    case VerdictStatus::kOk: return proto::RewardStatus::OK;
    case VerdictStatus::kWrong: return proto::RewardStatus::WRONG;
    case VerdictStatus::kTimeout: return proto::RewardStatus::TIMEOUT;
    case VerdictStatus::kError: return proto::RewardStatus::ERROR;
    case VerdictStatus::kSandboxViolation: return proto::RewardStatus::SANDBOX_VIOLATION;
  }
  return proto::RewardStatus::ERROR;
}

void write_reward(const RewardBreakdown& breakdown, proto::Reward::Builder reward) {
  reward.setScore(static_cast<float>(breakdown.final_reward));
  reward.setStatus(to_reward_status(breakdown.status));
  reward.setDetail(breakdown.detail);
  reward.setVerifier(breakdown.verifier);
  reward.setRawScore(static_cast<float>(breakdown.raw_score));
  auto adjustments = reward.initAdjustments(static_cast<unsigned>(breakdown.steps.size()));
  for (unsigned i = 0; i < breakdown.steps.size(); ++i) {
    adjustments[i].setName(breakdown.steps[i].name);
    adjustments[i].setValue(static_cast<float>(breakdown.steps[i].value));
  }
  reward.setConfigVersion(breakdown.config_version);
  reward.setTrainable(breakdown.trainable());
}

nlohmann::json reward_record(const RewardBreakdown& breakdown) {
  capnp::MallocMessageBuilder message;
  auto reward = message.initRoot<proto::Reward>();
  write_reward(breakdown, reward);
  return core::reward_record(reward.asReader());
}

} // namespace caravan::rewards
