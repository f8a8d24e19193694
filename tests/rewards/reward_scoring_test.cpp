#include "rewards/reward_scoring.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include <capnp/message.h>

#include "core/reward_record.h"
#include "tests/rewards/echo_score_verifier.h"

namespace caravan::rewards {
namespace {

using nlohmann::json;

core::RewardOptions parse(const std::string& toml) {
  Result<core::RewardOptions> options = core::parse_reward_options(toml, "rewards.toml");
  CARAVAN_CHECK(options.ok(), options.status().to_string());
  return std::move(options).value();
}

class RewardScoringTest : public ::testing::Test {
 protected:
  RewardScoringTest() : registry_(make_default_registry()) {
    EXPECT_TRUE(registry_.add(std::make_unique<EchoScoreVerifier>()).ok());
  }

  RewardBreakdown score(const core::RewardOptions* options, const ScoringItem& item) {
    return score_item(registry_, options, item);
  }

  VerifierRegistry registry_;
};

TEST_F(RewardScoringTest, WithoutAConfigTheItemsVerifierScoresAndItsScoreIsTheReward) {
  const ScoringItem item{.verifier = "arithmetic", .source = "gsm8k", .ground_truth = "82", .completion = "#### 82"};
  const ScoringPlan plan = plan_scoring(nullptr, item);
  EXPECT_EQ(plan.verifier, "arithmetic");
  EXPECT_EQ(plan.config_version, "");
  EXPECT_FALSE(plan.unjudged.has_value());
  const RewardBreakdown reward = score(nullptr, item);
  EXPECT_EQ(reward.status, VerdictStatus::kOk);
  EXPECT_EQ(reward.final_reward, 1.0);
  ASSERT_EQ(reward.steps.size(), 1u);
  EXPECT_EQ(reward.steps[0].name, "weight");
}

TEST_F(RewardScoringTest, TheSourcesRulesChooseTheVerifierElseTheItemsOwnJudges) {
  const core::RewardOptions options = parse("[source.gsm8k]\nverifier = \"math\"\nweight = 0.5\n[source.default]\n");
  // The row names "arithmetic", but [source.gsm8k] says "math": math judges (\boxed is math's).
  const RewardBreakdown gsm8k = score(&options, {.verifier = "arithmetic", .source = "gsm8k", .ground_truth = "82",
                                                 .completion = "\\boxed{82}"});
  EXPECT_EQ(gsm8k.verifier, "math");
  EXPECT_EQ(gsm8k.status, VerdictStatus::kOk);
  EXPECT_EQ(gsm8k.final_reward, 0.5);
  EXPECT_EQ(gsm8k.config_version, options.version);
  // [source.default] names no verifier: the row's own judges.
  const RewardBreakdown other = score(&options, {.verifier = "arithmetic", .source = "other", .ground_truth = "82",
                                                 .completion = "#### 82"});
  EXPECT_EQ(other.verifier, "arithmetic");
  EXPECT_EQ(other.final_reward, 1.0);
}

TEST_F(RewardScoringTest, ASourceWithoutRulesIsAnErrorAndIsNotJudged) {
  const core::RewardOptions options = parse("[source.gsm8k]\n");
  const ScoringItem item{.verifier = "arithmetic", .source = "MATH", .ground_truth = "82", .completion = "#### 82"};
  const ScoringPlan plan = plan_scoring(&options, item);
  ASSERT_TRUE(plan.unjudged.has_value());
  EXPECT_EQ(plan.unjudged->detail,
            "reward config " + options.version + " has no [source.MATH] and no [source.default]");
  const RewardBreakdown reward = score(&options, item);
  EXPECT_EQ(reward.status, VerdictStatus::kError);
  EXPECT_FALSE(reward.trainable());
  EXPECT_EQ(reward.final_reward, 0.0);
}

TEST_F(RewardScoringTest, JudgeTurnsUnknownNamesAndNonFiniteScoresIntoErrors) {
  EXPECT_EQ(judge(registry_, "echo_score", "0.25", "", {}).score, 0.25);
  const Verdict unknown = judge(registry_, "python", "x", "", {});
  EXPECT_EQ(unknown.status, VerdictStatus::kError);
  EXPECT_NE(unknown.detail.find("python"), std::string::npos) << unknown.detail;
  // NaN, both infinities, and a finite double beyond float32 (the Reward message's type).
  for (const char* score : {"nan", "inf", "-inf", "1e300"}) {
    const Verdict verdict = judge(registry_, "echo_score", score, "", {});
    EXPECT_EQ(verdict.status, VerdictStatus::kError) << score;
    EXPECT_EQ(verdict.score, 0.0) << score;
    EXPECT_NE(verdict.detail.find("verifier 'echo_score' returned the non-finite score"), std::string::npos)
        << verdict.detail;
  }
}

TEST_F(RewardScoringTest, ARuleThatOverflowsTheRewardIsAnError) {
  // 1e36 fits a float32; times the weight 1000 it does not.
  const core::RewardOptions options = parse("[source.default]\nweight = 1000.0\n");
  const RewardBreakdown reward = score(&options, {.verifier = "echo_score", .completion = "1e36"});
  EXPECT_EQ(reward.status, VerdictStatus::kError);
  EXPECT_FALSE(reward.trainable());
  EXPECT_EQ(reward.final_reward, 0.0);
  EXPECT_TRUE(reward.steps.empty());
  EXPECT_NE(reward.detail.find("gave the non-finite reward"), std::string::npos) << reward.detail;
}

// The breakdown a verifier sends and the JSON the sample files and reward-test --out record.
TEST_F(RewardScoringTest, TheRewardMessageCarriesTheWholeBreakdown) {
  const core::RewardOptions options = parse("[source.MATH]\nweight = 0.5\n[source.MATH.overlong]\n"
                                            "max_tokens = 10\nbuffer_tokens = 4\n");
  const RewardBreakdown breakdown = score(&options, {.verifier = "math", .source = "MATH", .ground_truth = "4",
                                                     .completion = "\\boxed{4}", .completion_tokens = 8});
  capnp::MallocMessageBuilder message;
  auto reward = message.initRoot<proto::Reward>();
  write_reward(breakdown, reward);
  // 1 * 0.5 + (6 - 8) / 4.
  EXPECT_EQ(core::reward_record(reward.asReader()),
            json({{"verifier", "math"}, {"status", "ok"}, {"detail", breakdown.detail}, {"raw_score", 1.0},
                  {"steps", json::parse(R"([{"name": "weight", "value": 0.5}, {"name": "overlong", "value": -0.5}])")},
                  {"final_reward", 0.0}, {"trainable", true}, {"config_version", options.version}}));
}

TEST(RewardStatusTest, EveryVerdictStatusMapsToItsRewardStatus) {
  EXPECT_EQ(to_reward_status(VerdictStatus::kOk), proto::RewardStatus::OK);
  EXPECT_EQ(to_reward_status(VerdictStatus::kWrong), proto::RewardStatus::WRONG);
  EXPECT_EQ(to_reward_status(VerdictStatus::kTimeout), proto::RewardStatus::TIMEOUT);
  EXPECT_EQ(to_reward_status(VerdictStatus::kError), proto::RewardStatus::ERROR);
  EXPECT_EQ(to_reward_status(VerdictStatus::kSandboxViolation), proto::RewardStatus::SANDBOX_VIOLATION);
}

}  // namespace
} // namespace caravan::rewards
