#include "learner/dpo_loss.h"

#include <cmath>

#include <gtest/gtest.h>

#include "tests/learner/finite_difference.h"

namespace caravan::learner {
namespace {

at::Tensor doubles(std::vector<double> values) { return at::tensor(values, at::kDouble); }

TEST(DpoLossTest, SequenceLogprobsSumOrAverageTheMaskedTokens) {
  // Row 0: tokens -1, -2, -3 with the last two in the response: sum -5, mean -2.5.
  // Row 1: tokens -0.5, -4, -1 with only the first in the response: sum = mean = -0.5.
  const at::Tensor lp = doubles({-1, -2, -3, -0.5, -4, -1}).view({2, 3});
  const at::Tensor mask = doubles({0, 1, 1, 1, 0, 0}).view({2, 3});
  const at::Tensor sums = sequence_logprobs(lp, mask, DpoLossType::kSum);
  const at::Tensor means = sequence_logprobs(lp, mask, DpoLossType::kMean);
  EXPECT_DOUBLE_EQ(sums[0].item<double>(), -5.0);
  EXPECT_DOUBLE_EQ(sums[1].item<double>(), -0.5);
  EXPECT_DOUBLE_EQ(means[0].item<double>(), -2.5);
  EXPECT_DOUBLE_EQ(means[1].item<double>(), -0.5);
}

TEST(DpoLossTest, MatchesValuesComputedByHand) {
  // Pair 0: policy chosen -4, rejected -6; reference chosen -5, rejected -5; beta 0.5.
  //   reward_c = 0.5 * (-4 - -5) = 0.5;  reward_r = 0.5 * (-6 - -5) = -0.5
  //   loss_0 = -log sigmoid(0.5 - -0.5) = -log sigmoid(1) = log(1 + e^-1) = 0.31326168751822286
  // Pair 1: policy chosen -3, rejected -2; reference chosen -3, rejected -3.
  //   reward_c = 0.5 * 0 = 0;  reward_r = 0.5 * (-2 - -3) = 0.5
  //   loss_1 = -log sigmoid(-0.5) = log(1 + e^0.5) = 0.9740769841801067
  // loss = (loss_0 + loss_1) / 2 = 0.6436693358491647
  const DpoLossTerms terms =
      dpo_loss(doubles({-4, -3}), doubles({-6, -2}), doubles({-5, -3}), doubles({-5, -3}), /*beta=*/0.5);
  EXPECT_NEAR(terms.loss.item<double>(), (std::log1p(std::exp(-1.0)) + std::log1p(std::exp(0.5))) / 2, 1e-12);
  EXPECT_NEAR(terms.loss.item<double>(), 0.6436693358491647, 1e-12);
  EXPECT_DOUBLE_EQ(terms.chosen_rewards[0].item<double>(), 0.5);
  EXPECT_DOUBLE_EQ(terms.chosen_rewards[1].item<double>(), 0.0);
  EXPECT_DOUBLE_EQ(terms.rejected_rewards[0].item<double>(), -0.5);
  EXPECT_DOUBLE_EQ(terms.rejected_rewards[1].item<double>(), 0.5);
}

TEST(DpoLossTest, EqualPolicyAndReferenceGiveLogTwo) {
  // Every log-ratio is 0, so each pair's loss is -log sigmoid(0) = log 2 whatever beta.
  const at::Tensor same = doubles({-1.5, -7.0, -0.25});
  const at::Tensor other = doubles({-2.0, -3.0, -9.0});
  const DpoLossTerms terms = dpo_loss(same, other, same, other, /*beta=*/5.0);
  EXPECT_NEAR(terms.loss.item<double>(), std::log(2.0), 1e-12);
  EXPECT_EQ(terms.chosen_rewards.abs().max().item<double>(), 0.0);
}

TEST(DpoLossTest, LengthNormalisedVariantDividesBeforeTheLoss) {
  // dpo_norm: chosen response of 2 tokens with policy/reference logprobs (-1, -1) / (-2, -2):
  // mean log-ratio (−1 − −2) = 1; rejected response of 4 tokens, policy (-2, -2, -2, -2),
  // reference (-1, -1, -1, -1): mean log-ratio -1. beta 1: loss = -log sigmoid(2) = 0.1269280110429725.
  // The summed variant would see log-ratios 2 and -4: loss = -log sigmoid(6) = 0.0024756851377304.
  const at::Tensor mask = doubles({1, 1, 0, 0, 1, 1, 1, 1}).view({2, 4});
  const at::Tensor policy = doubles({-1, -1, 0, 0, -2, -2, -2, -2}).view({2, 4});
  const at::Tensor reference = doubles({-2, -2, 0, 0, -1, -1, -1, -1}).view({2, 4});
  for (auto [type, expected] : {std::pair{DpoLossType::kMean, 0.1269280110429725}, std::pair{DpoLossType::kSum, 0.0024756851377304}}) {
    const at::Tensor p = sequence_logprobs(policy, mask, type);
    const at::Tensor r = sequence_logprobs(reference, mask, type);
    const DpoLossTerms terms = dpo_loss(p.slice(0, 0, 1), p.slice(0, 1), r.slice(0, 0, 1), r.slice(0, 1), 1.0);
    EXPECT_NEAR(terms.loss.item<double>(), expected, 1e-12) << dpo_loss_type_name(type);
  }
}

TEST(DpoLossTest, GradientMatchesFiniteDifferencesForBothVariants) {
  at::manual_seed(3);
  const at::Tensor mask = doubles({1, 1, 0, 1, 1, 1, 0, 0, 1}).view({3, 3});
  const at::Tensor reference = -at::rand({3, 3}, at::kDouble) * 3;
  for (DpoLossType type : kAllDpoLossTypes) {
    // Two pairs over three rows: chosen rows {0, 1}, rejected rows {1, 2} (row 1 on both sides
    // exercises gradient accumulation).
    const auto loss_of = [&](const at::Tensor& token_logprobs) {
      const at::Tensor seq = sequence_logprobs(token_logprobs, mask, type);
      const at::Tensor ref = sequence_logprobs(reference, mask, type);
      return dpo_loss(seq.slice(0, 0, 2), seq.slice(0, 1, 3), ref.slice(0, 0, 2), ref.slice(0, 1, 3), 0.7).loss;
    };
    const at::Tensor point = -at::rand({3, 3}, at::kDouble) * 3;
    const at::Tensor x = point.clone().requires_grad_(true);
    loss_of(x).backward();
    const at::Tensor numeric =
        testing::central_difference([&](const at::Tensor& t) { return loss_of(t).item<double>(); }, point);
    EXPECT_LT(testing::relative_error(x.grad(), numeric), 1e-6) << dpo_loss_type_name(type);
    // Tokens outside the mask get no gradient.
    EXPECT_EQ((x.grad() * (1 - mask)).abs().max().item<double>(), 0.0);
  }
}

TEST(DpoLossTest, ReferenceGetsNoGradient) {
  const at::Tensor reference = doubles({-1, -2}).requires_grad_(true);
  const at::Tensor policy = doubles({-1.5, -0.5}).requires_grad_(true);
  dpo_loss(policy.slice(0, 0, 1), policy.slice(0, 1), reference.slice(0, 0, 1), reference.slice(0, 1), 1.0)
      .loss.backward();
  EXPECT_TRUE(policy.grad().defined());
  EXPECT_FALSE(reference.grad().defined());
}

TEST(DpoLossTest, NamesRoundTrip) {
  for (DpoLossType type : kAllDpoLossTypes) EXPECT_EQ(*dpo_loss_type_from_name(dpo_loss_type_name(type)), type);
  EXPECT_EQ(dpo_loss_type_name(DpoLossType::kMean), "dpo_norm");
  Result<DpoLossType> bad = dpo_loss_type_from_name("ipo");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("\"ipo\""), std::string::npos);
}

} // namespace
} // namespace caravan::learner
