#include "rewards/reward_composer.h"

namespace caravan::rewards {

namespace {

// Whether the verifier's verdict says something about the completion that the rules may shape.
bool judged(VerdictStatus status) {
  switch (status) {
    case VerdictStatus::kOk:
    case VerdictStatus::kWrong:
      return true;
    case VerdictStatus::kTimeout:
    case VerdictStatus::kError:
    case VerdictStatus::kSandboxViolation:
      return false;
  }
  return false;
}

}  // namespace

bool RewardBreakdown::trainable() const {
  switch (status) {
    case VerdictStatus::kOk:
    case VerdictStatus::kWrong:
    case VerdictStatus::kSandboxViolation:
      return true;
    case VerdictStatus::kTimeout:
    case VerdictStatus::kError:
      return false;
  }
  return false;
}

double overlong_penalty(const core::OverlongOptions& options, int64_t completion_tokens) {
  CARAVAN_CHECK(completion_tokens >= 0, "completion_tokens must be >= 0, got ", completion_tokens);
  CARAVAN_CHECK(options.max_tokens >= 1 && options.buffer_tokens >= 0 && options.buffer_tokens < options.max_tokens,
                "overlong options out of range: max_tokens=", options.max_tokens,
                " buffer_tokens=", options.buffer_tokens);
  const int64_t expected_max = options.max_tokens - options.buffer_tokens;
  if (completion_tokens <= expected_max) return 0.0;
  if (completion_tokens > options.max_tokens) return -1.0;
  return static_cast<double>(expected_max - completion_tokens) / static_cast<double>(options.buffer_tokens);
}

RewardBreakdown compose_reward(const core::SourceRewardOptions& rules, std::string_view config_version,
                               std::string_view verifier_name, const Verdict& verdict, const SampleFacts& sample) {
  CARAVAN_CHECK(sample.completion_tokens >= 0, "completion_tokens must be >= 0, got ", sample.completion_tokens);
  RewardBreakdown breakdown;
  breakdown.verifier = std::string(verifier_name);
  breakdown.raw_score = verdict.score;
  breakdown.status = verdict.status;
  breakdown.detail = verdict.detail;
  breakdown.config_version = std::string(config_version);
  if (!judged(verdict.status)) return breakdown;  // final_reward stays 0.0; the status tells why

  if (sample.truncated && rules.non_stop_reward) {
    breakdown.steps.push_back({"non_stop", *rules.non_stop_reward});
    breakdown.final_reward = *rules.non_stop_reward;
    return breakdown;
  }
  double score = verdict.score;
  if (!rules.partial_credit && score < 1.0) {
    score = 0.0;
    breakdown.steps.push_back({"all_or_nothing", 0.0});
  }
  score *= rules.weight;
  breakdown.steps.push_back({"weight", rules.weight});
  if (rules.format) {
    CARAVAN_CHECK(rules.format->regex.has_value(), "format rule '", rules.format->pattern, "' was never compiled");
    // A completion that drives the pattern past its match limit has not shown the format.
    const Result<std::optional<core::Regex::Span>> match = rules.format->regex->find(sample.completion);
    const bool found = match.ok() && match->has_value();
    const double multiplier = found ? 1.0 : rules.format->multiplier_if_missing;
    score *= multiplier;
    breakdown.steps.push_back({"format", multiplier});
  }
  if (rules.overlong) {
    const double penalty = overlong_penalty(*rules.overlong, sample.completion_tokens);
    score += penalty;
    breakdown.steps.push_back({"overlong", penalty});
  }
  breakdown.final_reward = score;
  return breakdown;
}

} // namespace caravan::rewards
