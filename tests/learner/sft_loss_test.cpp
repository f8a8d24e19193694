#include "learner/sft_loss.h"

#include <cmath>

#include <gtest/gtest.h>

namespace caravan::learner {
namespace {

TEST(SftLoss, IsMaskedTokenMeanCrossEntropy) {
  // Token 0: uniform over 3 -> -log(1/3). Token 1: probs [1/6, 2/6, 3/6], target 2 -> -log(1/2).
  // Token 2 is masked out (it would cost ~5).
  const at::Tensor logits =
      at::tensor({0.0, 0.0, 0.0, 0.0, std::log(2.0), std::log(3.0), 5.0, 0.0, 0.0}, at::kDouble).view({1, 3, 3});
  const at::Tensor targets = at::tensor({1, 2, 1}, at::kLong).view({1, 3});
  const at::Tensor mask = at::tensor({1.0f, 1.0f, 0.0f}).view({1, 3});
  EXPECT_NEAR(sft_loss(logits, targets, mask).item<double>(), (std::log(3.0) + std::log(2.0)) / 2, 1e-12);
}

TEST(SftLoss, GradientIsSoftmaxMinusOneHotOverTokenCount) {
  const at::Tensor logits = at::tensor({0.0, std::log(2.0), std::log(3.0)}, at::kDouble).view({1, 1, 3});
  logits.requires_grad_(true);
  sft_loss(logits, at::tensor({2}, at::kLong).view({1, 1}), at::ones({1, 1})).backward();
  const at::Tensor expected = at::tensor({1.0 / 6, 2.0 / 6, 3.0 / 6 - 1.0}, at::kDouble).view({1, 1, 3});
  EXPECT_TRUE(at::allclose(logits.grad(), expected, 1e-12, 1e-12));
}

TEST(SftLoss, EmptyMaskGivesZero) {
  const at::Tensor logits = at::randn({2, 2, 4}).requires_grad_(true);
  const at::Tensor loss = sft_loss(logits, at::zeros({2, 2}, at::kLong), at::zeros({2, 2}));
  loss.backward();
  EXPECT_EQ(loss.item<float>(), 0.0f);
  EXPECT_TRUE(at::equal(logits.grad(), at::zeros_like(logits)));
}

} // namespace
} // namespace caravan::learner
