#include "learner/off_policy_correction.h"

#include <cmath>

#include <gtest/gtest.h>

namespace caravan::learner {
namespace {

// Learner logprobs -1 on four tokens; the rollout engine recorded [-1, -1.5, -0.2, -2.0], so the
// ratios are [1, e^0.5 = 1.648721, e^-0.8 = 0.449329, e^1 = 2.718282]. The fifth cell is padding
// with a meaningless rollout value.
at::Tensor learner_logprobs() { return at::tensor({-1.0f, -1.0f, -1.0f, -1.0f, 0.0f}).view({1, 5}); }
at::Tensor rollout_logprobs() { return at::tensor({-1.0f, -1.5f, -0.2f, -2.0f, 50.0f}).view({1, 5}); }
at::Tensor token_mask() { return at::tensor({1.0f, 1.0f, 1.0f, 1.0f, 0.0f}).view({1, 5}); }

void expect_weights(const CorrectionWeights& c, const std::vector<float>& expected) {
  EXPECT_TRUE(at::allclose(c.weights, at::tensor(expected).view({1, 5}), 0, 1e-5)) << c.weights;
}

TEST(OffPolicyCorrection, OffGivesUnitWeights) {
  const CorrectionWeights c = off_policy_correction(learner_logprobs(), rollout_logprobs(), token_mask(), {});
  expect_weights(c, {1, 1, 1, 1, 1});
  EXPECT_EQ(c.truncated_fraction, 0.0);
  EXPECT_EQ(c.masked_fraction, 0.0);
}

TEST(OffPolicyCorrection, TisTruncatesTheRatioAtTheCap) {
  const CorrectionWeights c = off_policy_correction(learner_logprobs(), rollout_logprobs(), token_mask(), {.tis_cap = 2.0});
  expect_weights(c, {1, 1.648721f, 0.449329f, 2, 1});
  EXPECT_DOUBLE_EQ(c.truncated_fraction, 0.25);
}

TEST(OffPolicyCorrection, IcePopMasksTokensOutsideTheBand) {
  // Band [0.5, 2.5]: 0.449 and 2.718 leave it.
  const CorrectionWeights masked = off_policy_correction(learner_logprobs(), rollout_logprobs(), token_mask(), {.mask_low = 0.5, .mask_high = 2.5});
  expect_weights(masked, {1, 1, 0, 0, 1});
  EXPECT_DOUBLE_EQ(masked.masked_fraction, 0.5);
  // With TIS as well the kept tokens carry their truncated ratio.
  const CorrectionWeights both =
      off_policy_correction(learner_logprobs(), rollout_logprobs(), token_mask(), {.tis_cap = 2.0, .mask_low = 0.5, .mask_high = 2.5});
  expect_weights(both, {1, 1.648721f, 0, 0, 1});
  EXPECT_DOUBLE_EQ(both.truncated_fraction, 0.25);
  EXPECT_DOUBLE_EQ(both.masked_fraction, 0.5);
}

TEST(LogprobMismatch, MaxAndMeanAbsoluteGapOverTheMask) {
  // |gaps| [0, 0.5, 0.8, 1.0]: max 1, mean 0.575; the padding cell's 50 is not compared.
  const LogprobMismatch m = logprob_mismatch(learner_logprobs(), rollout_logprobs(), token_mask());
  EXPECT_EQ(m.tokens, 4);
  EXPECT_NEAR(m.max_abs, 1.0, 1e-6);
  EXPECT_NEAR(m.mean_abs, 0.575, 1e-6);
  const LogprobMismatch none = logprob_mismatch(learner_logprobs(), rollout_logprobs(), at::zeros_like(token_mask()));
  EXPECT_EQ(none.tokens, 0);
  EXPECT_EQ(none.max_abs, 0.0);
}

} // namespace
} // namespace caravan::learner
