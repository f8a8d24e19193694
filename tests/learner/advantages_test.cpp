#include "learner/advantages.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <vector>

#include "core/status.h"

namespace caravan::learner {
namespace {

TEST(GroupAdvantages, NormalizesEachGroupWithUnbiasedStd) {
  // Group 0: mean 0.5, unbiased std sqrt((4 * 0.25) / 3) = 0.57735 -> +-0.5 / 0.57735 = +-0.866025.
  // Group 1: mean 2, unbiased std sqrt((1 + 1 + 0 + 0) / 3) = 0.816497 -> [1.224745, -1.224745, 0, 0].
  const at::Tensor rewards = at::tensor({1.0f, 0.0f, 0.0f, 1.0f, 3.0f, 1.0f, 2.0f, 2.0f}).view({2, 4});
  const at::Tensor advantages = group_advantages(rewards, at::ones({2, 4}, at::kBool), /*eps=*/1e-6);
  ASSERT_EQ(advantages.sizes(), rewards.sizes());
  const float expected[2][4] = {{0.866025f, -0.866025f, -0.866025f, 0.866025f}, {1.224745f, -1.224745f, 0.0f, 0.0f}};
  for (int g = 0; g < 2; ++g) {
    for (int s = 0; s < 4; ++s) {
      EXPECT_NEAR(advantages[g][s].item<float>(), expected[g][s], 2e-5) << "group " << g << " sample " << s;
    }
  }
}

TEST(GroupAdvantages, EpsIsAddedToTheStd) {
  // Rewards [1, 0]: deviations +-0.5, unbiased std 0.707107; eps = 0.292893 makes the divisor 1.
  const at::Tensor advantages = group_advantages(at::tensor({1.0, 0.0}, at::kDouble).view({1, 2}), at::ones({1, 2}, at::kBool),
                                                     1.0 - 0.7071067811865476);
  EXPECT_NEAR(advantages[0][0].item<double>(), 0.5, 1e-12);
  EXPECT_NEAR(advantages[0][1].item<double>(), -0.5, 1e-12);
}

TEST(GroupAdvantages, IdenticalRewardsGiveZeros) {
  const at::Tensor advantages = group_advantages(at::full({3, 5}, 0.7f), at::ones({3, 5}, at::kBool), 1e-6);
  EXPECT_TRUE(at::equal(advantages, at::zeros({3, 5})));
}

TEST(GroupAdvantages, SingletonGroupsGiveZeros) {
  const at::Tensor advantages = group_advantages(at::tensor({1.0f, 0.0f}).view({2, 1}), at::ones({2, 1}, at::kBool), 1e-6);
  EXPECT_TRUE(at::equal(advantages, at::zeros({2, 1})));
}

TEST(GroupAdvantages, UnjudgedSamplesGetZeroAndDoNotMoveTheBaseline) {
  // Group 0 judges [1, 0, 0] (the 9.0 timed out): mean 1/3, unbiased std sqrt((4/9 + 2/9) / 2) = 0.57735
  // -> [1.154701, -0.577350, -0.577350, 0].
  // Group 1 judges only one sample: no std, all zeros. Group 2 judges [2, 2]: identical, zeros.
  const at::Tensor rewards = at::tensor({1.0f, 0.0f, 9.0f, 0.0f, 5.0f, 1.0f, 1.0f, 1.0f, 2.0f, 7.0f, 2.0f, 0.0f}).view({3, 4});
  const at::Tensor judged = at::tensor({1, 1, 0, 1, 0, 1, 0, 0, 1, 0, 1, 0}).to(at::kBool).view({3, 4});
  const at::Tensor advantages = group_advantages(rewards, judged, 1e-6);
  const float expected[3][4] = {{1.154701f, -0.577350f, 0.0f, -0.577350f}, {0, 0, 0, 0}, {0, 0, 0, 0}};
  for (int g = 0; g < 3; ++g) {
    for (int s = 0; s < 4; ++s) {
      EXPECT_NEAR(advantages[g][s].item<float>(), expected[g][s], 2e-5) << "group " << g << " sample " << s;
    }
  }
  EXPECT_TRUE(at::equal(advantages[1], at::zeros({4})));
  EXPECT_TRUE(at::equal(advantages[2], at::zeros({4})));
}

TEST(GroupAdvantages, AnUnjudgedNanOrInfinityChangesNothing) {
  const at::Tensor judged = at::tensor({1, 1, 0, 1}).to(at::kBool).view({1, 4});
  const at::Tensor clean = group_advantages(at::tensor({1.0f, 0.0f, 0.0f, 0.0f}).view({1, 4}), judged, 1e-6);
  for (const float planted : {std::nanf(""), std::numeric_limits<float>::infinity()}) {
    const at::Tensor advantages = group_advantages(at::tensor({1.0f, 0.0f, planted, 0.0f}).view({1, 4}), judged, 1e-6);
    EXPECT_TRUE(at::equal(advantages, clean)) << planted << ": " << advantages;
  }
}

TEST(GroupAdvantages, WrongRankOrMaskIsABug) {
  EXPECT_THROW(group_advantages(at::ones({4}), at::ones({4}, at::kBool), 1e-6), InternalError);
  EXPECT_THROW(group_advantages(at::ones({1, 4}), at::ones({1, 3}, at::kBool), 1e-6), InternalError);
  EXPECT_THROW(group_advantages(at::ones({1, 4}), at::ones({1, 4}), 1e-6), InternalError);
}

// Compares a tensor with values written out in the test, element by element.
void expect_values(const at::Tensor& actual, const std::vector<double>& expected, double tolerance) {
  const at::Tensor flat = actual.to(at::kDouble).reshape({-1});
  ASSERT_EQ(flat.numel(), static_cast<int64_t>(expected.size()));
  for (size_t i = 0; i < expected.size(); ++i) {
    EXPECT_NEAR(flat[static_cast<int64_t>(i)].item<double>(), expected[i], tolerance) << "element " << i;
  }
}

TEST(CenteredAdvantages, SubtractTheJudgedMeanWithoutDividing) {
  // Group 0 [1, 0, 0, 1]: mean 0.5 -> [0.5, -0.5, -0.5, 0.5]. Group 1 judges [1, 0, 0] (the 9
  // timed out): mean 1/3 -> [2/3, -1/3, 0, -1/3].
  const at::Tensor rewards = at::tensor({1.0f, 0.0f, 0.0f, 1.0f, 1.0f, 0.0f, 9.0f, 0.0f}).view({2, 4});
  const at::Tensor judged = at::tensor({1, 1, 1, 1, 1, 1, 0, 1}).to(at::kBool).view({2, 4});
  expect_values(centered_advantages(rewards, judged), {0.5, -0.5, -0.5, 0.5, 2.0 / 3, -1.0 / 3, 0, -1.0 / 3}, 1e-6);
}

TEST(LeaveOneOutAdvantages, SubtractTheMeanOfTheOthers) {
  // Group 0 [1, 0, 0, 1]: 1 - (0 + 0 + 1) / 3 = 2/3 and 0 - (1 + 0 + 1) / 3 = -2/3.
  // Group 1 judges [1, 0, 0]: 1 - 0 = 1 and 0 - (1 + 0) / 2 = -0.5; the unjudged 9 gets 0.
  // Group 2 judges one sample: no other sample to compare with, 0.
  const at::Tensor rewards = at::tensor({1.0f, 0.0f, 0.0f, 1.0f, 1.0f, 0.0f, 9.0f, 0.0f, 5.0f, 0.0f, 0.0f, 0.0f}).view({3, 4});
  const at::Tensor judged = at::tensor({1, 1, 1, 1, 1, 1, 0, 1, 1, 0, 0, 0}).to(at::kBool).view({3, 4});
  expect_values(leave_one_out_advantages(rewards, judged),
                {2.0 / 3, -2.0 / 3, -2.0 / 3, 2.0 / 3, 1, -0.5, 0, -0.5, 0, 0, 0, 0}, 1e-6);
}

TEST(MaskedWhiten, NormalisesOverTheMaskedCellsOnly) {
  // Cells 1, 2 and 3 (the 50 and 70 are masked out): mean 2, unbiased variance (1 + 0 + 1) / 2 = 1.
  const at::Tensor values = at::tensor({1.0, 2.0, 50.0, 3.0, 70.0, 70.0}, at::kDouble).view({2, 3});
  const at::Tensor mask = at::tensor({1.0, 1.0, 0.0, 1.0, 0.0, 0.0}, at::kDouble).view({2, 3});
  expect_values(masked_whiten(values, mask, 1e-12).value(), {-1, 0, 0, 1, 0, 0}, 1e-9);
}

// With data-parallel ranks the statistics come from the ranks' sum; its failure (a rank gone) is
// the whitening's, and a sum that returns the values as they are gives the one-learner result.
TEST(MaskedWhiten, TakesItsStatisticsFromTheSumOverRanks) {
  const at::Tensor values = at::tensor({1.0, 2.0, 50.0, 3.0, 70.0, 70.0}, at::kDouble).view({2, 3});
  const at::Tensor mask = at::tensor({1.0, 1.0, 0.0, 1.0, 0.0, 0.0}, at::kDouble).view({2, 3});
  int calls = 0;
  const SumOverRanks as_they_are = [&](std::vector<double> local) -> Result<std::vector<double>> {
    ++calls;
    return local;
  };
  expect_values(masked_whiten(values, mask, 1e-12, as_they_are).value(), {-1, 0, 0, 1, 0, 0}, 1e-9);
  EXPECT_EQ(calls, 2);  // the mean, then the squared deviations
  const SumOverRanks failing = [](std::vector<double>) -> Result<std::vector<double>> {
    return Status::unavailable("rank 1 left");
  };
  const Result<at::Tensor> whitened = masked_whiten(values, mask, 1e-12, failing);
  ASSERT_FALSE(whitened.ok());
  EXPECT_EQ(whitened.status().code(), StatusCode::kUnavailable);
  const Result<AdvantageEstimate> estimate =
      estimate_advantages({.rewards = at::ones({1, 2}), .judged = at::ones({1, 2}, at::kBool), .mask = at::ones({2, 1}),
                           .sum_over_ranks = failing},
                          {.estimator = learner::AdvantageEstimator::kReinforcePlusPlus});
  ASSERT_FALSE(estimate.ok());
  EXPECT_NE(estimate.status().message().find("rank 1 left"), std::string::npos);
}

TEST(DiscountedReturns, SumTheDiscountedRewardsToTheEndOfTheCompletion) {
  // Row 0, gamma 0.5: G2 = 3, G1 = 2 + 0.5 * 3 = 3.5, G0 = 1 + 0.5 * 3.5 = 2.75; the pad cell is 0.
  // Row 1 starts with a prompt cell (reward 9, masked): G = [0, 1 + 0.5 * 2, 2, 0].
  const at::Tensor rewards = at::tensor({1.0, 2.0, 3.0, 7.0, 9.0, 1.0, 2.0, 0.0}, at::kDouble).view({2, 4});
  const at::Tensor mask = at::tensor({1.0, 1.0, 1.0, 0.0, 0.0, 1.0, 1.0, 0.0}, at::kDouble).view({2, 4});
  expect_values(discounted_returns(rewards, mask, 0.5), {2.75, 3.5, 3, 0, 0, 2, 2, 0}, 1e-12);
}

TEST(Gae, MatchesTheRecursionByHand) {
  // Row 0, gamma 1, lambda 0.5, a prompt cell first (its value 9 and reward 5 are masked out):
  //   delta_3 = 1 + 0 - 0.7 = 0.3                  A_3 = 0.3
  //   delta_2 = 0 + 0.7 - 0.6 = 0.1                A_2 = 0.1 + 0.5 * 0.3 = 0.25
  //   delta_1 = 0 + 0.6 - 0.5 = 0.1                A_1 = 0.1 + 0.5 * 0.25 = 0.225
  //   returns = A + V = [0, 0.725, 0.85, 1.0]
  const at::Tensor rewards = at::tensor({5.0, 0.0, 0.0, 1.0}, at::kDouble).view({1, 4});
  const at::Tensor values = at::tensor({9.0, 0.5, 0.6, 0.7}, at::kDouble).view({1, 4});
  const at::Tensor mask = at::tensor({0.0, 1.0, 1.0, 1.0}, at::kDouble).view({1, 4});
  const GaeResult result = gae(rewards, values, mask, /*gamma=*/1.0, /*lambda=*/0.5);
  expect_values(result.advantages, {0, 0.225, 0.25, 0.3}, 1e-12);
  expect_values(result.returns, {0, 0.725, 0.85, 1.0}, 1e-12);
}

TEST(Gae, APaddingCellsValueIsNeverBootstrapped) {
  // gamma 0.9, lambda 1; the pad cell holds value 9 and reward 7, both unread:
  //   delta_1 = 1 + 0.9 * 0 - 0.4 = 0.6          A_1 = 0.6
  //   delta_0 = 0 + 0.9 * 0.4 - 0.2 = 0.16       A_0 = 0.16 + 0.9 * 0.6 = 0.7
  const at::Tensor rewards = at::tensor({0.0, 1.0, 7.0}, at::kDouble).view({1, 3});
  const at::Tensor values = at::tensor({0.2, 0.4, 9.0}, at::kDouble).view({1, 3});
  const at::Tensor mask = at::tensor({1.0, 1.0, 0.0}, at::kDouble).view({1, 3});
  const GaeResult result = gae(rewards, values, mask, /*gamma=*/0.9, /*lambda=*/1.0);
  expect_values(result.advantages, {0.7, 0.6, 0}, 1e-12);
  expect_values(result.returns, {0.9, 1.0, 0}, 1e-12);
}

// Two groups of two; sample (1, 1) has an empty completion (no tokens, still in the baseline).
struct TokenExample {
  at::Tensor rewards = at::tensor({1.0f, 0.0f, 0.0f, 0.0f}).view({2, 2});
  at::Tensor judged = at::ones({2, 2}, at::kBool);
  at::Tensor mask = at::tensor({1.0f, 1.0f, 1.0f, 0.0f, 1.0f, 1.0f, 0.0f, 0.0f}).view({4, 2});
};

TEST(EstimateAdvantages, GroupEstimatorsSpreadTheSequenceAdvantageOverItsTokens) {
  const TokenExample e;
  // GRPO group 0 [1, 0]: +-0.5 / 0.707107 = +-0.707106; group 1 is flat.
  expect_values(estimate_advantages({.rewards = e.rewards, .judged = e.judged, .mask = e.mask}, {})->advantages,
                {0.707106, 0.707106, -0.707106, 0, 0, 0, 0, 0}, 1e-5);
  // RLOO group 0: 1 - 0 = 1, 0 - 1 = -1.
  expect_values(estimate_advantages({.rewards = e.rewards, .judged = e.judged, .mask = e.mask},
                                    {.estimator = learner::AdvantageEstimator::kRloo})->advantages,
                {1, 1, -1, 0, 0, 0, 0, 0}, 1e-6);
}

TEST(EstimateAdvantages, AKlPenaltyInTheRewardEntersTheSequenceTotal) {
  // Dr. GRPO over one group [1, 1] with token rewards -0.1 - 0.2 and -0.4: totals 0.7 and 0.6,
  // mean 0.65 -> +0.05 and -0.05.
  const at::Tensor mask = at::tensor({1.0f, 1.0f, 1.0f, 0.0f}).view({2, 2});
  const at::Tensor token_rewards = at::tensor({-0.1f, -0.2f, -0.4f, 0.0f}).view({2, 2});
  expect_values(estimate_advantages({.rewards = at::ones({1, 2}), .judged = at::ones({1, 2}, at::kBool), .mask = mask,
                                     .token_rewards = token_rewards},
                                    {.estimator = learner::AdvantageEstimator::kDrGrpo})->advantages,
                {0.05, 0.05, -0.05, 0}, 1e-6);
}

TEST(EstimateAdvantages, ReinforcePlusPlusWhitensTheReturnsOverTheBatchsTokens) {
  // Rewards [1, 0]; token rewards (KL in the reward) row 0 [-0.1, -0.2], row 1 [-0.4]. The
  // outcome sits on the last token: row 0 [-0.1, 0.8], row 1 [-0.4]; returns [0.7, 0.8], [-0.4].
  // Over the 3 tokens: mean 0.366667, unbiased std 0.665833 -> [0.500625, 0.650813, -1.151438].
  const at::Tensor mask = at::tensor({1.0f, 1.0f, 1.0f, 0.0f}).view({2, 2});
  const at::Tensor token_rewards = at::tensor({-0.1f, -0.2f, -0.4f, 0.0f}).view({2, 2});
  expect_values(estimate_advantages({.rewards = at::tensor({1.0f, 0.0f}).view({1, 2}),
                                     .judged = at::ones({1, 2}, at::kBool),
                                     .mask = mask,
                                     .token_rewards = token_rewards},
                                    {.estimator = learner::AdvantageEstimator::kReinforcePlusPlus})->advantages,
                {0.500625, 0.650813, -1.151438, 0}, 1e-5);
}

TEST(EstimateAdvantages, ReinforcePlusPlusWithAGroupBaselineCentresThenWhitens) {
  // Groups [1, 0] and [1, 1], one token each: centred [0.5, -0.5, 0, 0]; over 4 tokens mean 0,
  // unbiased std sqrt(0.5 / 3) = 0.408248 -> [1.224745, -1.224745, 0, 0].
  expect_values(estimate_advantages({.rewards = at::tensor({1.0f, 0.0f, 1.0f, 1.0f}).view({2, 2}),
                                     .judged = at::ones({2, 2}, at::kBool),
                                     .mask = at::ones({4, 1})},
                                    {.estimator = learner::AdvantageEstimator::kReinforcePlusPlus, .group_baseline = true})
                    ->advantages,
                {1.224745, -1.224745, 0, 0}, 1e-5);
}

TEST(EstimateAdvantages, GaePutsTheOutcomeOnTheLastTokenAndWhitensOnlyTheAdvantages) {
  // Rewards [1, 0]; token rewards (KL in the reward) row 0 [-0.1, -0.2], row 1 [-0.4]; values
  // row 0 [0.5, 0.6], row 1 [0.3] (its pad cell's 9 is never read); gamma 1, lambda 0.5.
  //   row 0: r = [-0.1, 0.8]   delta_1 = 0.8 - 0.6 = 0.2          A_1 = 0.2
  //                            delta_0 = -0.1 + 0.6 - 0.5 = 0     A_0 = 0 + 0.5 * 0.2 = 0.1
  //   row 1: r = [-0.4]        delta_0 = -0.4 - 0.3 = -0.7        A_0 = -0.7
  //   returns = A + V = [0.6, 0.8], [-0.4]
  // Whitened over the 3 tokens: mean -0.133333, unbiased std 0.493288 ->
  // [0.473015, 0.675736, -1.148751]; the returns stay in reward units.
  const AdvantageInputs inputs{.rewards = at::tensor({1.0f, 0.0f}).view({1, 2}),
                               .judged = at::ones({1, 2}, at::kBool),
                               .mask = at::tensor({1.0f, 1.0f, 1.0f, 0.0f}).view({2, 2}),
                               .token_rewards = at::tensor({-0.1f, -0.2f, -0.4f, 0.0f}).view({2, 2}),
                               .values = at::tensor({0.5f, 0.6f, 0.3f, 9.0f}).view({2, 2})};
  learner::AdvantageOptions options{.estimator = learner::AdvantageEstimator::kGae, .gae_gamma = 1.0, .gae_lambda = 0.5,
                                 .gae_whiten = false};
  AdvantageEstimate estimate = estimate_advantages(inputs, options).value();
  expect_values(estimate.advantages, {0.1, 0.2, -0.7, 0}, 1e-6);
  expect_values(estimate.returns, {0.6, 0.8, -0.4, 0}, 1e-6);
  options.gae_whiten = true;
  estimate = estimate_advantages(inputs, options).value();
  expect_values(estimate.advantages, {0.473015, 0.675736, -1.148751, 0}, 1e-5);
  expect_values(estimate.returns, {0.6, 0.8, -0.4, 0}, 1e-6);
  // Values are given exactly for gae.
  EXPECT_THROW(estimate_advantages({.rewards = inputs.rewards, .judged = inputs.judged, .mask = inputs.mask}, options),
               InternalError);
  EXPECT_THROW(estimate_advantages(inputs, {}), InternalError);
}

TEST(EstimateAdvantages, UnjudgedSamplesHaveNoRowAndNoSay) {
  // Group [1, NaN (unjudged), 0]: B = 2 rows. RLOO: 1 - 0 = 1, 0 - 1 = -1.
  const at::Tensor rewards = at::tensor({1.0f, std::nanf(""), 0.0f}).view({1, 3});
  const at::Tensor judged = at::tensor({1, 0, 1}).to(at::kBool).view({1, 3});
  expect_values(estimate_advantages({.rewards = rewards, .judged = judged, .mask = at::ones({2, 1})},
                                    {.estimator = learner::AdvantageEstimator::kRloo})->advantages,
                {1, -1}, 1e-6);
  EXPECT_THROW(estimate_advantages({.rewards = rewards, .judged = judged, .mask = at::ones({3, 1})}, {}), InternalError);
}

} // namespace
} // namespace caravan::learner
