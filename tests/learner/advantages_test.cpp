#include "learner/advantages.h"

#include <gtest/gtest.h>

#include "core/status.h"

namespace caravan::learner {
namespace {

TEST(GroupAdvantages, NormalizesEachGroupWithUnbiasedStd) {
  // Group 0: mean 0.5, unbiased std sqrt((4 * 0.25) / 3) = 0.57735 -> +-0.5 / 0.57735 = +-0.866025.
  // Group 1: mean 2, unbiased std sqrt((1 + 1 + 0 + 0) / 3) = 0.816497 -> [1.224745, -1.224745, 0, 0].
  const at::Tensor rewards = at::tensor({1.0f, 0.0f, 0.0f, 1.0f, 3.0f, 1.0f, 2.0f, 2.0f}).view({2, 4});
  const at::Tensor advantages = group_advantages(rewards, /*eps=*/1e-6);
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
  const at::Tensor advantages = group_advantages(at::tensor({1.0, 0.0}, at::kDouble).view({1, 2}), 1.0 - 0.7071067811865476);
  EXPECT_NEAR(advantages[0][0].item<double>(), 0.5, 1e-12);
  EXPECT_NEAR(advantages[0][1].item<double>(), -0.5, 1e-12);
}

TEST(GroupAdvantages, IdenticalRewardsGiveZeros) {
  const at::Tensor advantages = group_advantages(at::full({3, 5}, 0.7f), 1e-6);
  EXPECT_TRUE(at::equal(advantages, at::zeros({3, 5})));
}

TEST(GroupAdvantages, SingletonGroupsGiveZeros) {
  const at::Tensor advantages = group_advantages(at::tensor({1.0f, 0.0f}).view({2, 1}), 1e-6);
  EXPECT_TRUE(at::equal(advantages, at::zeros({2, 1})));
}

TEST(GroupAdvantages, WrongRankIsABug) {
  EXPECT_THROW(group_advantages(at::ones({4}), 1e-6), InternalError);
}

} // namespace
} // namespace caravan::learner
