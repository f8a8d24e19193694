#include "model/rms_norm.h"

#include <cmath>

#include <gtest/gtest.h>

namespace caravan::model {
namespace {

TEST(RMSNorm, MatchesHandComputedValues) {
  RMSNorm norm(/*width=*/2, /*eps=*/0.0);
  const at::Tensor y = norm(at::tensor({3.0f, 4.0f}));
  // rms = sqrt((9 + 16) / 2) = sqrt(12.5)
  EXPECT_NEAR(y[0].item<float>(), 3.0 / std::sqrt(12.5), 1e-6);
  EXPECT_NEAR(y[1].item<float>(), 4.0 / std::sqrt(12.5), 1e-6);
}

TEST(RMSNorm, WeightIsOnesAndScalesTheOutput) {
  RMSNorm norm(/*width=*/4, /*eps=*/1e-6);
  ASSERT_EQ(norm->named_parameters().size(), 1u);
  EXPECT_TRUE(at::equal(norm->weight(), at::ones({4})));
  const at::Tensor x = at::randn({3, 5, 4});
  const at::Tensor before = norm(x);
  {
    at::NoGradGuard no_grad;
    norm->named_parameters()["weight"].fill_(2.0);
  }
  EXPECT_TRUE(at::allclose(norm(x), 2.0 * before));
}

TEST(RMSNorm, NormalisesEachRowToUnitRmsAndIsScaleInvariant) {
  RMSNorm norm(/*width=*/16, /*eps=*/1e-8);
  const at::Tensor x = at::randn({6, 16});
  const at::Tensor y = norm(x);
  EXPECT_TRUE(at::allclose(y.pow(2).mean(-1), at::ones({6}), 1e-5, 1e-5));
  EXPECT_TRUE(at::allclose(norm(x * 7.5), y, 1e-5, 1e-5));
}

TEST(RMSNorm, KeepsDtype) {
  RMSNorm norm(/*width=*/8, /*eps=*/1e-5);
  const at::Tensor x = at::randn({2, 8}).to(at::kBFloat16);
  EXPECT_EQ(norm(x).scalar_type(), at::kFloat);  // float32 weight promotes, as in Hugging Face
  norm->to(at::kBFloat16);
  EXPECT_EQ(norm(x).scalar_type(), at::kBFloat16);
}

} // namespace
} // namespace caravan::model
