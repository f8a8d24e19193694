#include "learner/kl_control.h"

#include <cmath>
#include <limits>

#include <gtest/gtest.h>

#include "core/status.h"
#include "tests/learner/finite_difference.h"

namespace caravan::learner {
namespace {

// x = logprobs - ref = [0.5, -0.5, (masked: a gap of +inf)].
at::Tensor policy_logprobs() { return at::tensor({-1.0, -2.0, -3.0}, at::kDouble).view({1, 3}); }
at::Tensor ref_logprobs() {
  return at::tensor({-1.5, -1.5, -std::numeric_limits<double>::infinity()}, at::kDouble).view({1, 3});
}
at::Tensor token_mask() { return at::tensor({1.0, 1.0, 0.0}, at::kDouble).view({1, 3}); }

TEST(KlEstimate, EachEstimatorByHand) {
  // k1 = x; k2 = x^2 / 2; k3 = e^-x + x - 1: e^-0.5 - 0.5 = 0.1065307, e^0.5 - 1.5 = 0.1487213.
  const auto values = [](learner::KlEstimator estimator) {
    return kl_estimate(policy_logprobs(), ref_logprobs(), token_mask(), estimator);
  };
  EXPECT_TRUE(at::allclose(values(learner::KlEstimator::kK1), at::tensor({0.5, -0.5, 0.0}, at::kDouble).view({1, 3})));
  EXPECT_TRUE(at::allclose(values(learner::KlEstimator::kK2), at::tensor({0.125, 0.125, 0.0}, at::kDouble).view({1, 3})));
  EXPECT_TRUE(at::allclose(values(learner::KlEstimator::kK3),
                           at::tensor({0.10653065971, 0.14872127070, 0.0}, at::kDouble).view({1, 3}), 0, 1e-10));
}

TEST(KlEstimate, GradientsMatchFiniteDifferences) {
  // d/dx: k1 1, k2 x, k3 1 - e^-x; none at the masked cell.
  for (const learner::KlEstimator estimator : {learner::KlEstimator::kK1, learner::KlEstimator::kK2, learner::KlEstimator::kK3}) {
    const at::Tensor variable = policy_logprobs().clone().requires_grad_(true);
    kl_estimate(variable, ref_logprobs(), token_mask(), estimator).sum().backward();
    EXPECT_TRUE(at::isfinite(variable.grad()).all().item<bool>());
    const at::Tensor numeric = testing::central_difference(
        [&](const at::Tensor& x) { return kl_estimate(x, ref_logprobs(), token_mask(), estimator).sum().item<double>(); }, policy_logprobs());
    EXPECT_LT(testing::relative_error(variable.grad(), numeric), 1e-6) << static_cast<int>(estimator);
  }
}

TEST(KlController, AFixedCoefficientNeverMoves) {
  KlController controller({.coef = 0.1});
  controller.update(/*measured_kl=*/5.0, /*samples=*/100);
  EXPECT_EQ(controller.coef(), 0.1);
}

TEST(KlController, TheAdaptiveCoefficientFollowsThePpoRule) {
  KlController controller({.coef = 0.1, .target = 0.05, .horizon = 100});
  // KL twice the target: error clipped to +0.2 -> 0.1 * (1 + 0.2 * 10 / 100) = 0.102.
  controller.update(0.1, 10);
  EXPECT_NEAR(controller.coef(), 0.102, 1e-15);
  // KL 0.04: error 0.04 / 0.05 - 1 = -0.2 -> 0.102 * (1 - 0.2 * 50 / 100) = 0.0918.
  controller.update(0.04, 50);
  EXPECT_NEAR(controller.coef(), 0.0918, 1e-15);
  // KL 0.055: error 0.055 / 0.05 - 1 = 0.1, inside the clip -> 0.0918 * (1 + 0.1 * 100 / 100).
  controller.update(0.055, 100);
  EXPECT_NEAR(controller.coef(), 0.0918 * 1.1, 1e-15);
  controller.restore(0.5);
  EXPECT_EQ(controller.coef(), 0.5);
  EXPECT_THROW(controller.restore(-1.0), InternalError);
}

} // namespace
} // namespace caravan::learner
