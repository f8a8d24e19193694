#include "learner/advantages.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

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

} // namespace
} // namespace caravan::learner
