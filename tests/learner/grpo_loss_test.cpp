#include "learner/grpo_loss.h"

#include <cmath>
#include <limits>
#include <tuple>

#include <gtest/gtest.h>

#include "core/status.h"
#include "model/logprobs.h"
#include "tests/learner/finite_difference.h"

namespace caravan::learner {
namespace {

// A 2x3 batch. Row 0 has A = +1 and a padded last token; row 1 has A = -0.5.
// Ratios: row 0 [1.1 (inside), 1.5 (clipped at 1.2, binds), -]; row 1 [0.5 (clipped at 0.8,
// binds), 1.5 (outside but the unclipped branch binds for A < 0), 0.9 (inside)].
// ref - logprobs: row 0 [0.2, -0.1, -], row 1 [0, 0.3, -0.4].
struct Example {
  at::Tensor logprobs = at::tensor({-1.0, -0.5, -2.0, -0.7, -1.2, -0.3}, at::kDouble).view({2, 3});
  at::Tensor ratio = at::tensor({1.1, 1.5, 1.0, 0.5, 1.5, 0.9}, at::kDouble).view({2, 3});
  at::Tensor ref_minus_logprobs = at::tensor({0.2, -0.1, 5.0, 0.0, 0.3, -0.4}, at::kDouble).view({2, 3});
  at::Tensor advantages = at::tensor({1.0, -0.5}, at::kDouble);
  at::Tensor mask = at::tensor({1.0, 1.0, 0.0, 1.0, 1.0, 1.0}, at::kDouble).view({2, 3});

  GrpoLossInputs inputs(const at::Tensor& current) const {
    return {.logprobs = current,
            .old_logprobs = logprobs - at::log(ratio),
            .ref_logprobs = logprobs + ref_minus_logprobs,
            .advantages = advantages,
            .mask = mask};
  }
};

constexpr GrpoLossOptions kOptions{.clip_low = 0.2, .clip_high = 0.2, .kl_coef = 0.1};

TEST(GrpoLoss, MatchesHandComputedValues) {
  const Example example;
  const GrpoLossOutput out = grpo_loss(example.inputs(example.logprobs), kOptions);
  // pg per masked token: -1.1, -1.2, +0.4, +0.75, +0.45 (sum -0.7).
  // k3 = e^d - d - 1: 0.0214027582, 0.0048374180, 0, 0.0498588076, 0.0703200460 (sum 0.1464190298).
  // loss = (-0.7 + 0.1 * 0.1464190298) / 5.
  EXPECT_NEAR(out.loss.item<double>(), -0.13707161940, 1e-9);
  EXPECT_NEAR(out.kl_mean, 0.1464190298 / 5, 1e-9);
  // Clipped branch active on row 0 token 1 and row 1 token 0.
  EXPECT_DOUBLE_EQ(out.clip_fraction, 0.4);
}

TEST(GrpoLoss, ClippedTokensGetOnlyTheKlGradient) {
  const Example example;
  const at::Tensor current = example.logprobs.clone().requires_grad_(true);
  grpo_loss(example.inputs(current), kOptions).loss.backward();
  const at::Tensor grad = current.grad();
  // d k3 / d logprobs = 1 - e^d; row 0 token 1 has d = -0.1 and a clipped ratio.
  EXPECT_NEAR(grad[0][1].item<double>(), 0.1 * (1.0 - std::exp(-0.1)) / 5, 1e-12);
  // Row 0 token 0 (unclipped, A = 1): d(-ratio)/dlp = -1.1, plus KL 0.1 * (1 - e^0.2).
  EXPECT_NEAR(grad[0][0].item<double>(), (-1.1 + 0.1 * (1.0 - std::exp(0.2))) / 5, 1e-12);
  // The padded token gets nothing.
  EXPECT_EQ(grad[0][2].item<double>(), 0.0);
}

TEST(GrpoLoss, GradientMatchesFiniteDifferences) {
  const Example example;
  const at::Tensor current = example.logprobs.clone().requires_grad_(true);
  grpo_loss(example.inputs(current), kOptions).loss.backward();
  const at::Tensor numeric = testing::central_difference(
      [&](const at::Tensor& x) { return grpo_loss(example.inputs(x), kOptions).loss.item<double>(); },
      example.logprobs);
  EXPECT_LT(testing::relative_error(current.grad(), numeric), 1e-5);
}

// The chain the trainer differentiates: logits -> token_logprobs(temperature) -> grpo_loss.
TEST(GrpoLoss, GradientThroughTokenLogprobsMatchesFiniteDifferences) {
  at::manual_seed(3);
  const double temperature = 0.7;
  const at::Tensor logits = at::randn({2, 3, 5}, at::kDouble);
  const at::Tensor targets = at::tensor({0, 3, 4, 2, 2, 1}, at::kLong).view({2, 3});
  // Old/ref logprobs are placed around the starting point so that the ratios are the example's.
  const at::Tensor start = model::token_logprobs(logits, targets, temperature).to(at::kDouble);
  Example shifted;
  shifted.logprobs = start;
  const auto loss_of = [&](const at::Tensor& x) {
    return grpo_loss(shifted.inputs(model::token_logprobs(x, targets, temperature).to(at::kDouble)), kOptions).loss;
  };
  const at::Tensor variable = logits.clone().requires_grad_(true);
  loss_of(variable).backward();
  // token_logprobs keeps float64 for float64 logits, so the check is double-precision strict.
  ASSERT_EQ(model::token_logprobs(logits, targets, temperature).scalar_type(), at::kDouble);
  const at::Tensor numeric =
      testing::central_difference([&](const at::Tensor& x) { return loss_of(x).item<double>(); }, logits, 1e-6);
  EXPECT_LT(testing::relative_error(variable.grad(), numeric), 1e-5);
}

// Weights scale each sequence's loss terms and gradient; the token count stays the denominator.
TEST(GrpoLoss, WeightsScaleEachSequencesTermsAndGradient) {
  const Example example;
  const auto loss_and_grad = [&](const at::Tensor& weights) {
    GrpoLossInputs inputs = example.inputs(example.logprobs.clone().requires_grad_(true));
    inputs.weights = weights;
    const GrpoLossOutput out = grpo_loss(inputs, kOptions);
    out.loss.backward();
    return std::make_tuple(out.loss.item<double>(), inputs.logprobs.grad(), out.kl_mean, out.clip_fraction);
  };
  const auto [plain_loss, plain_grad, plain_kl, plain_clip] = loss_and_grad(at::Tensor());
  const auto [ones_loss, ones_grad, ones_kl, ones_clip] = loss_and_grad(at::ones({2}, at::kDouble));
  EXPECT_EQ(ones_loss, plain_loss);
  EXPECT_TRUE(at::equal(ones_grad, plain_grad));

  const auto [loss, grad, kl, clip] = loss_and_grad(at::tensor({2.0, 0.0}, at::kDouble));
  // Row sums of the hand-computed token losses (see MatchesHandComputedValues), over 5 tokens:
  // row 0: -1.1 - 1.2 + 0.1 * (0.0214027582 + 0.0048374180); row 1 weighted 0.
  EXPECT_NEAR(loss, 2.0 * (-2.3 + 0.1 * 0.0262401762) / 5, 1e-9);
  EXPECT_TRUE(at::allclose(grad[0], 2.0 * plain_grad[0], /*rtol=*/0, /*atol=*/1e-15));
  EXPECT_TRUE(at::equal(grad[1], at::zeros_like(grad[1])));
  // The statistics describe the tokens, not the weighting.
  EXPECT_EQ(kl, plain_kl);
  EXPECT_EQ(clip, plain_clip);
}

TEST(GrpoLoss, EmptyMaskGivesZeroLossAndStats) {
  Example example;
  example.mask = at::zeros_like(example.mask);
  const at::Tensor current = example.logprobs.clone().requires_grad_(true);
  const GrpoLossOutput out = grpo_loss(example.inputs(current), kOptions);
  out.loss.backward();
  EXPECT_EQ(out.loss.item<double>(), 0.0);
  EXPECT_EQ(out.kl_mean, 0.0);
  EXPECT_EQ(out.clip_fraction, 0.0);
  EXPECT_TRUE(at::equal(current.grad(), at::zeros_like(current)));
}

// A prompt or padding cell (mask 0) may hold any logprob gap: exp() of it must never be taken,
// or inf * 0 turns the loss and the gradient into NaN. Row 0 token 2 is such a cell.
TEST(GrpoLoss, AHugeGapOnAMaskedCellChangesNothing) {
  const double inf = std::numeric_limits<double>::infinity();
  for (const at::ScalarType dtype : {at::kFloat, at::kDouble}) {
    const Example example;
    const auto loss_and_grad = [&](const GrpoLossInputs& double_inputs) {
      GrpoLossInputs inputs = double_inputs;
      for (at::Tensor* t : {&inputs.logprobs, &inputs.old_logprobs, &inputs.ref_logprobs, &inputs.advantages}) {
        *t = t->to(dtype);
      }
      inputs.logprobs = inputs.logprobs.detach().requires_grad_(true);
      const GrpoLossOutput out = grpo_loss(inputs, kOptions);
      out.loss.backward();
      return std::make_tuple(out.loss.item<double>(), inputs.logprobs.grad(), out.kl_mean);
    };
    const auto [clean_loss, clean_grad, clean_kl] = loss_and_grad(example.inputs(example.logprobs));
    for (const double gap : {1e4, -1e4, inf, -inf, std::nan("")}) {
      GrpoLossInputs planted = example.inputs(example.logprobs);
      planted.ref_logprobs = planted.ref_logprobs.clone();
      planted.old_logprobs = planted.old_logprobs.clone();
      planted.ref_logprobs[0][2] = planted.logprobs[0][2].item<double>() + gap;   // k3 gap
      planted.old_logprobs[0][2] = planted.logprobs[0][2].item<double>() - gap;   // ratio gap
      const auto [loss, grad, kl] = loss_and_grad(planted);
      EXPECT_TRUE(std::isfinite(loss)) << "gap " << gap << " dtype " << dtype;
      EXPECT_TRUE(at::isfinite(grad).all().item<bool>()) << "gap " << gap << " dtype " << dtype;
      EXPECT_EQ(loss, clean_loss) << "gap " << gap << " dtype " << dtype;
      EXPECT_EQ(kl, clean_kl) << "gap " << gap << " dtype " << dtype;
      EXPECT_TRUE(at::equal(grad, clean_grad)) << "gap " << gap << " dtype " << dtype;
    }
  }
}

TEST(GrpoLoss, MismatchedShapesAreABug) {
  const Example example;
  GrpoLossInputs inputs = example.inputs(example.logprobs);
  inputs.advantages = at::ones({3}, at::kDouble);
  EXPECT_THROW(grpo_loss(inputs, kOptions), InternalError);
}

} // namespace
} // namespace caravan::learner
