#include "rewards/reward_composer.h"

#include <gtest/gtest.h>

#include <string>

namespace caravan::rewards {
namespace {

constexpr const char* kVersion = "0123456789ab";

core::SourceRewardOptions plain_rules() { return core::SourceRewardOptions{}; }

core::FormatRewardOptions boxed_format(double multiplier_if_missing) {
  Result<core::FormatRewardOptions> format = core::make_format_reward_options("\\\\boxed\\{", multiplier_if_missing);
  CARAVAN_CHECK(format.ok(), format.status().to_string());
  return *format;
}

Verdict ok() { return {1.0, VerdictStatus::kOk, ""}; }
Verdict partial(double score) { return {score, VerdictStatus::kWrong, "not followed: x"}; }

std::vector<std::string> step_names(const RewardBreakdown& breakdown) {
  std::vector<std::string> names;
  for (const RewardStep& step : breakdown.steps) names.push_back(step.name);
  return names;
}

TEST(OverlongPenaltyTest, FollowsDapoSoftPunishment) {
  const core::OverlongOptions options{.max_tokens = 1024, .buffer_tokens = 256};
  EXPECT_EQ(overlong_penalty(options, 0), 0.0);
  EXPECT_EQ(overlong_penalty(options, 768), 0.0);            // L_max - L_cache: still free
  EXPECT_DOUBLE_EQ(overlong_penalty(options, 769), -1.0 / 256);
  EXPECT_DOUBLE_EQ(overlong_penalty(options, 896), -0.5);    // (768 - 896) / 256
  EXPECT_DOUBLE_EQ(overlong_penalty(options, 1024), -1.0);   // (768 - 1024) / 256
  EXPECT_EQ(overlong_penalty(options, 1025), -1.0);          // beyond L_max
  EXPECT_EQ(overlong_penalty(options, 100000), -1.0);
}

TEST(OverlongPenaltyTest, ZeroBufferIsAHardCut) {
  const core::OverlongOptions options{.max_tokens = 10, .buffer_tokens = 0};
  EXPECT_EQ(overlong_penalty(options, 10), 0.0);
  EXPECT_EQ(overlong_penalty(options, 11), -1.0);
}

TEST(OverlongPenaltyTest, NegativeLengthIsABug) {
  EXPECT_THROW(overlong_penalty(core::OverlongOptions{.max_tokens = 10, .buffer_tokens = 2}, -1), InternalError);
}

TEST(RewardComposerTest, PlainRulesPassTheScoreThrough) {
  const RewardBreakdown b = compose_reward(plain_rules(), kVersion, "ifeval", partial(0.5), {.completion = "x"});
  EXPECT_EQ(b.verifier, "ifeval");
  EXPECT_EQ(b.raw_score, 0.5);
  EXPECT_EQ(b.status, VerdictStatus::kWrong);
  EXPECT_EQ(b.detail, "not followed: x");
  EXPECT_EQ(b.config_version, kVersion);
  EXPECT_EQ(step_names(b), std::vector<std::string>{"weight"});
  EXPECT_EQ(b.final_reward, 0.5);
  EXPECT_TRUE(b.trainable());
}

TEST(RewardComposerTest, WeightMultiplies) {
  core::SourceRewardOptions rules = plain_rules();
  rules.weight = 2.5;
  EXPECT_EQ(compose_reward(rules, kVersion, "ifeval", partial(0.5), {}).final_reward, 1.25);
  EXPECT_EQ(compose_reward(rules, kVersion, "math", ok(), {}).final_reward, 2.5);
}

TEST(RewardComposerTest, NoPartialCreditZeroesScoresBelowOne) {
  core::SourceRewardOptions rules = plain_rules();
  rules.partial_credit = false;
  const RewardBreakdown half = compose_reward(rules, kVersion, "code", partial(0.9), {});
  EXPECT_EQ(half.final_reward, 0.0);
  EXPECT_EQ(step_names(half), (std::vector<std::string>{"all_or_nothing", "weight"}));
  const RewardBreakdown full = compose_reward(rules, kVersion, "code", ok(), {});
  EXPECT_EQ(full.final_reward, 1.0);
  EXPECT_EQ(step_names(full), std::vector<std::string>{"weight"});  // nothing to zero
}

TEST(RewardComposerTest, FormatMultipliesOnlyWhenThePatternIsMissing) {
  core::SourceRewardOptions rules = plain_rules();
  rules.format = boxed_format(0.25);
  const RewardBreakdown found = compose_reward(rules, kVersion, "math", ok(), {.completion = "so \\boxed{4}"});
  EXPECT_EQ(found.final_reward, 1.0);
  ASSERT_EQ(found.steps.size(), 2u);
  EXPECT_EQ(found.steps[1].name, "format");
  EXPECT_EQ(found.steps[1].value, 1.0);
  const RewardBreakdown missing = compose_reward(rules, kVersion, "math", ok(), {.completion = "so 4"});
  EXPECT_EQ(missing.final_reward, 0.25);
  EXPECT_EQ(missing.steps[1].value, 0.25);
}

TEST(RewardComposerTest, HostileCompletionsCannotCrashOrStallTheFormatCheck) {
  core::SourceRewardOptions rules = plain_rules();
  // A thinking-block pattern as ops teams write it; std::regex overflowed its stack on long text.
  Result<core::FormatRewardOptions> thinking = core::make_format_reward_options("<think>(.|\\n)*</think>", 0.5);
  ASSERT_TRUE(thinking.ok()) << thinking.status().message();
  rules.format = *thinking;
  const std::string long_thought = "<think>" + std::string(200'000, 'a') + "</think> 4";
  EXPECT_EQ(compose_reward(rules, kVersion, "math", ok(), {.completion = long_thought}).final_reward, 1.0);
  // Exponential backtracking stops at the match limit and counts as a missing format.
  Result<core::FormatRewardOptions> catastrophic = core::make_format_reward_options("(x+x+)+$", 0.5);
  ASSERT_TRUE(catastrophic.ok()) << catastrophic.status().message();
  rules.format = *catastrophic;
  const RewardBreakdown limited =
      compose_reward(rules, kVersion, "math", ok(), {.completion = std::string(40, 'x') + "!"});
  EXPECT_EQ(limited.final_reward, 0.5);
}

TEST(RewardComposerTest, OverlongPenaltyIsAdded) {
  core::SourceRewardOptions rules = plain_rules();
  rules.overlong = core::OverlongOptions{.max_tokens = 100, .buffer_tokens = 20};
  const RewardBreakdown b = compose_reward(rules, kVersion, "math", ok(), {.completion_tokens = 90});
  EXPECT_DOUBLE_EQ(b.final_reward, 0.5);  // 1 + (80 - 90) / 20
  ASSERT_EQ(b.steps.size(), 2u);
  EXPECT_EQ(b.steps[1].name, "overlong");
  EXPECT_DOUBLE_EQ(b.steps[1].value, -0.5);
  // A wrong answer that is also too long goes negative.
  EXPECT_DOUBLE_EQ(compose_reward(rules, kVersion, "math", partial(0.0), {.completion_tokens = 101}).final_reward, -1.0);
}

TEST(RewardComposerTest, NonStopReplacesEverything) {
  core::SourceRewardOptions rules = plain_rules();
  rules.weight = 3.0;
  rules.format = boxed_format(0.0);
  rules.overlong = core::OverlongOptions{.max_tokens = 100, .buffer_tokens = 20};
  rules.non_stop_reward = -0.5;
  const RewardBreakdown b =
      compose_reward(rules, kVersion, "math", ok(), {.completion = "\\boxed{1}", .completion_tokens = 200, .truncated = true});
  EXPECT_EQ(b.final_reward, -0.5);
  ASSERT_EQ(b.steps.size(), 1u);
  EXPECT_EQ(b.steps[0].name, "non_stop");
  EXPECT_EQ(b.steps[0].value, -0.5);
  EXPECT_EQ(b.raw_score, 1.0);  // the verifier's view is kept
}

TEST(RewardComposerTest, TruncatedWithoutNonStopRuleIsScoredNormally) {
  core::SourceRewardOptions rules = plain_rules();
  rules.overlong = core::OverlongOptions{.max_tokens = 100, .buffer_tokens = 20};
  const RewardBreakdown b = compose_reward(rules, kVersion, "math", ok(), {.completion_tokens = 100, .truncated = true});
  EXPECT_DOUBLE_EQ(b.final_reward, 0.0);  // 1 + (80 - 100) / 20
}

TEST(RewardComposerTest, AllRulesCombineInTheDocumentedOrder) {
  core::SourceRewardOptions rules = plain_rules();
  rules.weight = 2.0;
  rules.partial_credit = true;
  rules.format = boxed_format(0.5);
  rules.overlong = core::OverlongOptions{.max_tokens = 1024, .buffer_tokens = 256};
  rules.non_stop_reward = 0.0;
  // 0.75 * 2 = 1.5; no \boxed: * 0.5 = 0.75; 896 tokens: + (768 - 896) / 256 = -0.5 -> 0.25.
  const RewardBreakdown b =
      compose_reward(rules, kVersion, "ifeval", partial(0.75), {.completion = "answer 3", .completion_tokens = 896});
  EXPECT_DOUBLE_EQ(b.final_reward, 0.25);
  EXPECT_EQ(step_names(b), (std::vector<std::string>{"weight", "format", "overlong"}));
  EXPECT_EQ(b.steps[0].value, 2.0);
  EXPECT_EQ(b.steps[1].value, 0.5);
  EXPECT_DOUBLE_EQ(b.steps[2].value, -0.5);

  // The same with partial credit off: 0.75 -> 0, then * 2 * 0.5 - 0.5 = -0.5.
  rules.partial_credit = false;
  const RewardBreakdown strict =
      compose_reward(rules, kVersion, "ifeval", partial(0.75), {.completion = "answer 3", .completion_tokens = 896});
  EXPECT_DOUBLE_EQ(strict.final_reward, -0.5);
  EXPECT_EQ(step_names(strict), (std::vector<std::string>{"all_or_nothing", "weight", "format", "overlong"}));
}

TEST(RewardComposerTest, FailedChecksGetZeroAndKeepTheirStatus) {
  core::SourceRewardOptions rules = plain_rules();
  rules.weight = 2.0;
  rules.overlong = core::OverlongOptions{.max_tokens = 10, .buffer_tokens = 0};
  rules.non_stop_reward = -1.0;
  for (VerdictStatus status : {VerdictStatus::kTimeout, VerdictStatus::kError, VerdictStatus::kSandboxViolation}) {
    const RewardBreakdown b = compose_reward(rules, kVersion, "code", {0.7, status, "deadline 200 ms exceeded"},
                                             {.completion_tokens = 50, .truncated = true});
    EXPECT_EQ(b.status, status);
    EXPECT_EQ(b.final_reward, 0.0);
    EXPECT_TRUE(b.steps.empty());
    EXPECT_EQ(b.raw_score, 0.7);
    EXPECT_EQ(b.detail, "deadline 200 ms exceeded");
  }
}

// The one sandbox policy: a violation is the model's doing and is trained on as a failure (0.0);
// a timeout or an error says nothing about the completion and is left out.
TEST(RewardComposerTest, SandboxViolationsAreTrainedAtZeroTimeoutsAndErrorsAreLeftOut) {
  const auto trainable = [](VerdictStatus status) {
    return compose_reward(plain_rules(), kVersion, "code", {0.0, status, ""}, {}).trainable();
  };
  EXPECT_TRUE(trainable(VerdictStatus::kOk));
  EXPECT_TRUE(trainable(VerdictStatus::kWrong));
  EXPECT_TRUE(trainable(VerdictStatus::kSandboxViolation));
  EXPECT_FALSE(trainable(VerdictStatus::kTimeout));
  EXPECT_FALSE(trainable(VerdictStatus::kError));
}

}  // namespace
} // namespace caravan::rewards
