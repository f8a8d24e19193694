#include "model/logprobs.h"

#include <gtest/gtest.h>

namespace caravan::model {
namespace {

TEST(TokenLogprobs, MatchesHandComputedValues) {
  // logits [1, 2, 3]: logsumexp = 3 + log(1 + e^-1 + e^-2) = 3.4076059644
  const at::Tensor logits = at::tensor({1.0f, 2.0f, 3.0f}).view({1, 1, 3}).expand({1, 2, 3});
  const at::Tensor targets = at::tensor({2, 0}, at::kLong).view({1, 2});
  const at::Tensor lp = token_logprobs(logits, targets, /*temperature=*/1.0);
  ASSERT_EQ(lp.sizes(), (std::vector<int64_t>{1, 2}));
  EXPECT_EQ(lp.scalar_type(), at::kFloat);
  EXPECT_NEAR(lp[0][0].item<float>(), -0.4076059644, 1e-6);
  EXPECT_NEAR(lp[0][1].item<float>(), -2.4076059644, 1e-6);

  // Temperature 2: logits [0.5, 1, 1.5], logsumexp = 1.5 + log(1 + e^-0.5 + e^-1) = 2.1802696
  const at::Tensor hot = token_logprobs(logits, targets, /*temperature=*/2.0);
  EXPECT_NEAR(hot[0][1].item<float>(), 0.5 - 2.1802696, 1e-6);
}

TEST(TokenLogprobs, NonPositiveTemperatureMeansOne) {
  const at::Tensor logits = at::randn({2, 3, 11});
  const at::Tensor targets = at::randint(0, 11, {2, 3}, at::kLong);
  const at::Tensor base = token_logprobs(logits, targets, 1.0);
  EXPECT_TRUE(at::equal(token_logprobs(logits, targets, 0.0), base));
  EXPECT_TRUE(at::equal(token_logprobs(logits, targets, -1.0), base));
}

TEST(TokenLogprobs, AgreesWithManualSoftmaxAndUpcastsBf16) {
  const at::Tensor logits = at::randn({3, 4, 17}) * 3;
  const at::Tensor targets = at::randint(0, 17, {3, 4}, at::kLong);
  const at::Tensor lp = token_logprobs(logits, targets, 0.7);
  const at::Tensor probs = at::softmax(logits / 0.7, -1);
  for (int64_t b = 0; b < 3; ++b) {
    for (int64_t t = 0; t < 4; ++t) {
      const double manual = std::log(probs[b][t][targets[b][t].item<int64_t>()].item<double>());
      EXPECT_NEAR(lp[b][t].item<float>(), manual, 1e-5);
    }
  }
  const at::Tensor bf16 = logits.to(at::kBFloat16);
  const at::Tensor from_bf16 = token_logprobs(bf16, targets, 0.7);
  EXPECT_EQ(from_bf16.scalar_type(), at::kFloat);
  EXPECT_TRUE(at::equal(from_bf16, token_logprobs(bf16.to(at::kFloat), targets, 0.7)));
}

TEST(TokenLogprobs, GradientIsOneHotMinusSoftmax) {
  const at::Tensor logits = at::randn({1, 1, 5}).requires_grad_(true);
  const at::Tensor targets = at::tensor({3}, at::kLong).view({1, 1});
  token_logprobs(logits, targets, 1.0).sum().backward();
  at::Tensor expected = -at::softmax(logits.detach(), -1);
  expected[0][0][3] += 1.0;
  EXPECT_TRUE(at::allclose(logits.grad(), expected, 1e-6, 1e-6));
}

} // namespace
} // namespace caravan::model
