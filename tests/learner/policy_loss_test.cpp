#include "learner/policy_loss.h"

#include <cmath>
#include <limits>
#include <tuple>

#include <gtest/gtest.h>

#include "core/status.h"
#include "learner/chunked_logprobs.h"
#include "learner/kl_control.h"
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
  at::Tensor advantages = at::tensor({1.0, 1.0, 1.0, -0.5, -0.5, -0.5}, at::kDouble).view({2, 3});
  at::Tensor mask = at::tensor({1.0, 1.0, 0.0, 1.0, 1.0, 1.0}, at::kDouble).view({2, 3});

  // The PPO loss with a k3 KL term (coefficient 0.1) against ref = logprobs + ref_minus_logprobs,
  // evaluated at `current`.
  PolicyLossInputs inputs(const at::Tensor& current) const {
    return {.logprobs = current,
            .old_logprobs = logprobs - at::log(ratio),
            .advantages = advantages,
            .mask = mask,
            .kl = kl_estimate(current, logprobs + ref_minus_logprobs, mask, learner::KlEstimator::kK3),
            .kl_coef = 0.1};
  }
};

const learner::PolicyLossOptions kPpo{.clip_low = 0.2, .clip_high = 0.2};

TEST(Aggregate, TokenMeanSequenceMeanAndConstantDenominator) {
  // Rows [1, 2, 3], [4, -, -] and an empty row: 10 over 4 tokens; rows' means (2 + 4) / 2 (the
  // empty row has no mean); 10 / (3 rows x 5 tokens).
  const at::Tensor values = at::tensor({1.0, 2.0, 3.0, 4.0, 9.0, 9.0, 9.0, 9.0, 9.0}, at::kDouble).view({3, 3});
  const at::Tensor mask = at::tensor({1.0, 1.0, 1.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0}, at::kDouble).view({3, 3});
  EXPECT_DOUBLE_EQ(aggregate(values, mask, learner::LossAggregation::kTokenMean, 0).item<double>(), 2.5);
  EXPECT_DOUBLE_EQ(aggregate(values, mask, learner::LossAggregation::kSequenceMeanTokenMean, 0).item<double>(), 3.0);
  EXPECT_DOUBLE_EQ(aggregate(values, mask, learner::LossAggregation::kConstantDenominator, 5).item<double>(), 10.0 / 15);
  EXPECT_EQ(aggregate(values, at::zeros_like(mask), learner::LossAggregation::kSequenceMeanTokenMean, 0).item<double>(), 0);
}

TEST(PolicyLoss, PpoMatchesHandComputedValues) {
  const Example example;
  const PolicyLossOutput out = policy_loss(example.inputs(example.logprobs), kPpo);
  // pg per masked token: -1.1, -1.2, +0.4, +0.75, +0.45 (sum -0.7).
  // k3 = e^d - d - 1: 0.0214027582, 0.0048374180, 0, 0.0498588076, 0.0703200460 (sum 0.1464190298).
  // loss = (-0.7 + 0.1 * 0.1464190298) / 5.
  EXPECT_NEAR(out.loss.item<double>(), -0.13707161940, 1e-9);
  EXPECT_NEAR(out.policy_loss, -0.7 / 5, 1e-12);
  EXPECT_NEAR(out.kl_mean, 0.1464190298 / 5, 1e-9);
  // Clipped above on row 0 token 1 (A > 0), below on row 1 token 0 (A < 0).
  EXPECT_DOUBLE_EQ(out.clip_high_fraction, 0.2);
  EXPECT_DOUBLE_EQ(out.clip_low_fraction, 0.2);
  EXPECT_EQ(out.dual_clip_fraction, 0.0);
}

TEST(PolicyLoss, PpoClippedTokensGetOnlyTheKlGradient) {
  const Example example;
  const at::Tensor current = example.logprobs.clone().requires_grad_(true);
  policy_loss(example.inputs(current), kPpo).loss.backward();
  const at::Tensor grad = current.grad();
  // d k3 / d logprobs = 1 - e^d; row 0 token 1 has d = -0.1 and a clipped ratio.
  EXPECT_NEAR(grad[0][1].item<double>(), 0.1 * (1.0 - std::exp(-0.1)) / 5, 1e-12);
  // Row 0 token 0 (unclipped, A = 1): d(-ratio)/dlp = -1.1, plus KL 0.1 * (1 - e^0.2).
  EXPECT_NEAR(grad[0][0].item<double>(), (-1.1 + 0.1 * (1.0 - std::exp(0.2))) / 5, 1e-12);
  // The padded token gets nothing.
  EXPECT_EQ(grad[0][2].item<double>(), 0.0);
}

// Checks d loss / d x against central differences at `point`.
void expect_gradient_matches(const std::function<at::Tensor(const at::Tensor&)>& loss_of, const at::Tensor& point) {
  const at::Tensor variable = point.clone().requires_grad_(true);
  loss_of(variable).backward();
  const at::Tensor numeric =
      testing::central_difference([&](const at::Tensor& x) { return loss_of(x).item<double>(); }, point);
  EXPECT_LT(testing::relative_error(variable.grad(), numeric), 1e-5) << variable.grad() << "\n" << numeric;
}

TEST(PolicyLoss, PpoGradientMatchesFiniteDifferences) {
  const Example example;
  for (const learner::LossAggregation aggregation :
       {learner::LossAggregation::kTokenMean, learner::LossAggregation::kSequenceMeanTokenMean,
        learner::LossAggregation::kConstantDenominator}) {
    learner::PolicyLossOptions options = kPpo;
    options.aggregation = aggregation;
    expect_gradient_matches(
        [&](const at::Tensor& x) {
          PolicyLossInputs inputs = example.inputs(x);
          inputs.max_tokens = 4;
          return policy_loss(inputs, options).loss;
        },
        example.logprobs);
  }
}

// One row, A = -1 on every token, ratios [0.5, 1.1, 4.0], dual clip c = 3:
//   r = 0.5: max(0.5, 0.8) = 0.8 (clipped below, no gradient)
//   r = 1.1: max(1.1, 1.1) = 1.1 (gradient -A r = 1.1)
//   r = 4.0: max(4.0, 1.2) = 4.0, min(4.0, -c A = 3) = 3 (dual clip, no gradient)
TEST(PolicyLoss, DualClipBoundsTheLossOfNegativeAdvantages) {
  const at::Tensor x = at::tensor({-1.0, -2.0, -0.5}, at::kDouble).view({1, 3});
  const auto inputs = [&](const at::Tensor& current) {
    return PolicyLossInputs{.logprobs = current,
                            .old_logprobs = x - at::log(at::tensor({0.5, 1.1, 4.0}, at::kDouble).view({1, 3})),
                            .advantages = at::full({1, 3}, -1.0, at::kDouble),
                            .mask = at::ones({1, 3}, at::kDouble)};
  };
  learner::PolicyLossOptions options = kPpo;
  options.dual_clip = 3.0;
  const at::Tensor current = x.clone().requires_grad_(true);
  const PolicyLossOutput out = policy_loss(inputs(current), options);
  out.loss.backward();
  EXPECT_NEAR(out.loss.item<double>(), (0.8 + 1.1 + 3.0) / 3, 1e-12);
  EXPECT_TRUE(at::allclose(current.grad(), at::tensor({0.0, 1.1 / 3, 0.0}, at::kDouble).view({1, 3}), 0, 1e-12))
      << current.grad();
  EXPECT_DOUBLE_EQ(out.clip_low_fraction, 1.0 / 3);
  EXPECT_DOUBLE_EQ(out.dual_clip_fraction, 1.0 / 3);
  EXPECT_EQ(out.clip_high_fraction, 0.0);
  // Away from the kinks the gradient is the finite difference of the loss.
  expect_gradient_matches([&](const at::Tensor& c) { return policy_loss(inputs(c), options).loss; }, x);
}

// Row 0 (A = 1, tokens 0-1): log-ratios 0.1 and 0.3 -> s = e^0.2 = 1.2214028, inside [0.8, 1.25].
// Row 1 (A = -1, 3 tokens): log-ratios -0.3 -> s = e^-0.3 = 0.7408182, clipped to 0.8:
// max(0.7408, 0.8) = 0.8. seq_mean_token_mean: (-1.2214028 + 0.8) / 2 = -0.2107014.
// Gradient: row 0 tokens (1/2 rows)(1/2 tokens)(-A s) = -0.3053507 each, row 1 none.
struct GspoExample {
  at::Tensor x = at::tensor({-1.0, -0.4, -7.0, -0.2, -0.5, -0.9}, at::kDouble).view({2, 3});
  at::Tensor log_ratio = at::tensor({0.1, 0.3, 0.0, -0.3, -0.3, -0.3}, at::kDouble).view({2, 3});
  PolicyLossInputs inputs(const at::Tensor& current) const {
    return {.logprobs = current,
            .old_logprobs = x - log_ratio,
            .advantages = at::tensor({1.0, 1.0, 1.0, -1.0, -1.0, -1.0}, at::kDouble).view({2, 3}),
            .mask = at::tensor({1.0, 1.0, 0.0, 1.0, 1.0, 1.0}, at::kDouble).view({2, 3})};
  }
};
const learner::PolicyLossOptions kGspo{.kind = learner::PolicyLossKind::kGspo,
                                    .clip_low = 0.2,
                                    .clip_high = 0.25,
                                    .aggregation = learner::LossAggregation::kSequenceMeanTokenMean};

TEST(PolicyLoss, GspoUsesTheLengthNormalisedSequenceRatio) {
  const GspoExample example;
  const at::Tensor current = example.x.clone().requires_grad_(true);
  const PolicyLossOutput out = policy_loss(example.inputs(current), kGspo);
  out.loss.backward();
  EXPECT_NEAR(out.loss.item<double>(), (-std::exp(0.2) + 0.8) / 2, 1e-12);
  const double g = -std::exp(0.2) / 4;
  EXPECT_TRUE(at::allclose(current.grad(), at::tensor({g, g, 0.0, 0.0, 0.0, 0.0}, at::kDouble).view({2, 3}), 0, 1e-12))
      << current.grad();
  // All three tokens of row 1 are clipped below: 3 of 5.
  EXPECT_DOUBLE_EQ(out.clip_low_fraction, 0.6);
  EXPECT_EQ(out.clip_high_fraction, 0.0);
}

TEST(PolicyLoss, GspoGradientMatchesFiniteDifferencesOfTheSequenceObjective) {
  const GspoExample example;
  for (const learner::LossAggregation aggregation :
       {learner::LossAggregation::kSequenceMeanTokenMean, learner::LossAggregation::kTokenMean}) {
    learner::PolicyLossOptions options = kGspo;
    options.aggregation = aggregation;
    // Both rows inside the clip range, so every token has a gradient.
    options.clip_low = 0.5;
    expect_gradient_matches([&](const at::Tensor& x) { return policy_loss(example.inputs(x), options).loss; },
                            example.x);
  }
}

// One row, A = 2, ratios [0.5, 1.0, 3.0] and the weight clipped to [0.8, 2.0]: w = [0.8, 1, 2].
// x = [-1, -2, -0.5]: token losses -w A x = [1.6, 4.0, 2.0], token mean 7.6 / 3. Every token keeps
// the REINFORCE gradient -w A / 3 = [-0.533333, -0.666667, -1.333333], clipped ones included.
TEST(PolicyLoss, CispoKeepsTheGradientOfClippedTokens) {
  const at::Tensor x = at::tensor({-1.0, -2.0, -0.5}, at::kDouble).view({1, 3});
  const at::Tensor old_logprobs = x - at::log(at::tensor({0.5, 1.0, 3.0}, at::kDouble).view({1, 3}));
  const learner::PolicyLossOptions options{.kind = learner::PolicyLossKind::kCispo, .clip_low = 0.2, .clip_high = 1.0};
  const auto inputs = [&](const at::Tensor& current) {
    return PolicyLossInputs{.logprobs = current,
                            .old_logprobs = old_logprobs,
                            .advantages = at::full({1, 3}, 2.0, at::kDouble),
                            .mask = at::ones({1, 3}, at::kDouble)};
  };
  const at::Tensor current = x.clone().requires_grad_(true);
  const PolicyLossOutput out = policy_loss(inputs(current), options);
  out.loss.backward();
  EXPECT_NEAR(out.loss.item<double>(), 7.6 / 3, 1e-12);
  EXPECT_TRUE(at::allclose(current.grad(), at::tensor({-1.6 / 3, -2.0 / 3, -4.0 / 3}, at::kDouble).view({1, 3}), 0,
                           1e-12))
      << current.grad();
  EXPECT_DOUBLE_EQ(out.clip_low_fraction, 1.0 / 3);
  EXPECT_DOUBLE_EQ(out.clip_high_fraction, 1.0 / 3);
  // The weight is a constant (stop-gradient): the gradient is the finite difference of the
  // objective with the weights frozen at x.
  const at::Tensor frozen = at::tensor({0.8, 1.0, 2.0}, at::kDouble).view({1, 3});
  const at::Tensor numeric = testing::central_difference(
      [&](const at::Tensor& c) { return (-frozen * 2.0 * c).sum().item<double>() / 3; }, x);
  EXPECT_LT(testing::relative_error(current.grad(), numeric), 1e-6);
}

TEST(PolicyLoss, EntropyBonusLowersTheLossAndPushesEntropyUp) {
  // A = 0: no surrogate. Entropies [0.5, 1.0], coefficient 0.1: loss = -0.1 * 0.75.
  const at::Tensor entropy = at::tensor({0.5, 1.0}, at::kDouble).view({1, 2}).requires_grad_(true);
  const PolicyLossInputs inputs{.logprobs = at::full({1, 2}, -1.0, at::kDouble),
                                .old_logprobs = at::full({1, 2}, -1.0, at::kDouble),
                                .advantages = at::zeros({1, 2}, at::kDouble),
                                .mask = at::ones({1, 2}, at::kDouble),
                                .entropy = entropy};
  learner::PolicyLossOptions options = kPpo;
  options.entropy_coef = 0.1;
  const PolicyLossOutput out = policy_loss(inputs, options);
  out.loss.backward();
  EXPECT_NEAR(out.loss.item<double>(), -0.075, 1e-12);
  EXPECT_DOUBLE_EQ(out.entropy_mean, 0.75);
  EXPECT_TRUE(at::allclose(entropy.grad(), at::full({1, 2}, -0.05, at::kDouble), 0, 1e-12));
  expect_gradient_matches(
      [&](const at::Tensor& h) {
        PolicyLossInputs with = inputs;
        with.entropy = h;
        return policy_loss(with, options).loss;
      },
      entropy.detach());
}

// Correction weights multiply the surrogate only; sequence weights scale every term of a row.
TEST(PolicyLoss, CorrectionAndSequenceWeights) {
  const Example example;
  PolicyLossInputs inputs = example.inputs(example.logprobs);
  inputs.correction_weights = at::tensor({2.0, 0.0, 1.0, 1.0, 1.0, 1.0}, at::kDouble).view({2, 3});
  // pg [-1.1 * 2, -1.2 * 0, 0.4, 0.75, 0.45] = -0.6 in all, plus 0.1 * 0.1464190298, over 5.
  EXPECT_NEAR(policy_loss(inputs, kPpo).loss.item<double>(), (-0.6 + 0.01464190298) / 5, 1e-9);

  inputs = example.inputs(example.logprobs);
  inputs.sequence_weights = at::tensor({2.0, 0.0}, at::kDouble);
  // Row 0 only, doubled: 2 * (-1.1 - 1.2 + 0.1 * (0.0214027582 + 0.0048374180)) / 5.
  const PolicyLossOutput out = policy_loss(inputs, kPpo);
  EXPECT_NEAR(out.loss.item<double>(), 2.0 * (-2.3 + 0.1 * 0.0262401762) / 5, 1e-9);
  // The statistics describe the tokens, not the weighting.
  EXPECT_NEAR(out.kl_mean, 0.1464190298 / 5, 1e-9);
}

TEST(PolicyLoss, EmptyMaskGivesZeroLossAndStats) {
  Example example;
  example.mask = at::zeros_like(example.mask);
  const at::Tensor current = example.logprobs.clone().requires_grad_(true);
  const PolicyLossOutput out = policy_loss(example.inputs(current), kPpo);
  out.loss.backward();
  EXPECT_EQ(out.loss.item<double>(), 0.0);
  EXPECT_EQ(out.kl_mean, 0.0);
  EXPECT_EQ(out.clip_low_fraction + out.clip_high_fraction, 0.0);
  EXPECT_TRUE(at::equal(current.grad(), at::zeros_like(current)));
}

// A prompt or padding cell (mask 0) may hold any logprob gap: exp() of it must never be taken,
// or inf * 0 turns the loss and the gradient into NaN. Row 0 token 2 is such a cell.
TEST(PolicyLoss, AHugeGapOnAMaskedCellChangesNothing) {
  const double inf = std::numeric_limits<double>::infinity();
  const Example example;
  for (const learner::PolicyLossKind kind :
       {learner::PolicyLossKind::kPpo, learner::PolicyLossKind::kGspo, learner::PolicyLossKind::kCispo}) {
    learner::PolicyLossOptions options = kPpo;
    options.kind = kind;
    const auto loss_and_grad = [&](const at::Tensor& old_logprobs, const at::Tensor& ref) {
      const at::Tensor current = example.logprobs.clone().requires_grad_(true);
      PolicyLossInputs inputs = example.inputs(current);
      inputs.old_logprobs = old_logprobs;
      inputs.kl = kl_estimate(current, ref, example.mask, learner::KlEstimator::kK3);
      const PolicyLossOutput out = policy_loss(inputs, options);
      out.loss.backward();
      return std::make_tuple(out.loss.item<double>(), current.grad());
    };
    const at::Tensor old_logprobs = example.logprobs - at::log(example.ratio);
    const at::Tensor ref = example.logprobs + example.ref_minus_logprobs;
    const auto [clean_loss, clean_grad] = loss_and_grad(old_logprobs, ref);
    for (const double gap : {1e4, -1e4, inf, -inf, std::nan("")}) {
      at::Tensor planted_old = old_logprobs.clone();
      at::Tensor planted_ref = ref.clone();
      planted_old[0][2] = example.logprobs[0][2].item<double>() - gap;
      planted_ref[0][2] = example.logprobs[0][2].item<double>() + gap;
      const auto [loss, grad] = loss_and_grad(planted_old, planted_ref);
      EXPECT_EQ(loss, clean_loss) << "kind " << static_cast<int>(kind) << " gap " << gap;
      EXPECT_TRUE(at::equal(grad, clean_grad)) << "kind " << static_cast<int>(kind) << " gap " << gap;
    }
  }
}

// The chain the trainer differentiates: hidden states -> chunked logprobs (temperature) -> loss.
TEST(PolicyLoss, GradientThroughChunkedLogprobsMatchesFiniteDifferences) {
  at::manual_seed(3);
  const double temperature = 0.7;
  const at::Tensor hidden = at::randn({2, 3, 4}, at::kDouble);
  const at::Tensor head = at::randn({5, 4}, at::kDouble);
  const at::Tensor targets = at::tensor({0, 3, 4, 2, 2, 1}, at::kLong).view({2, 3});
  // Old/ref logprobs are placed around the starting point so that the ratios are the example's.
  Example shifted;
  shifted.logprobs = chunked_token_statistics(hidden, head, targets, temperature, /*chunk_size=*/2).logprobs.detach();
  for (const learner::PolicyLossKind kind : {learner::PolicyLossKind::kPpo, learner::PolicyLossKind::kGspo}) {
    learner::PolicyLossOptions options = kPpo;
    options.kind = kind;
    options.entropy_coef = 0.05;
    expect_gradient_matches(
        [&](const at::Tensor& h) {
          const TokenStatistics s = chunked_token_statistics(h, head, targets, temperature, /*chunk_size=*/2);
          PolicyLossInputs inputs = shifted.inputs(s.logprobs);
          inputs.entropy = s.entropy;
          return policy_loss(inputs, options).loss;
        },
        hidden);
  }
}

// Token 0: V - R = 1 -> 1; clipped V = 1.5 + clip(-0.5) = 1.3, (1.3 - 0)^2 = 1.69: the clipped
// branch is larger (no gradient). Token 1: V - R = 1 -> 1; clipped V = 1.7, 0.7^2 = 0.49: the
// unclipped branch binds. loss = 0.5 * (1.69 + 1) / 2 = 0.6725, gradient [0, 0.5 * 2 * 1 / 2].
TEST(ValueLoss, ClipsTheValueAroundTheOldOne) {
  const at::Tensor values = at::tensor({1.0, 2.0}, at::kDouble).view({1, 2});
  const ValueLossInputs inputs{.values = values,
                               .old_values = at::tensor({1.5, 1.5}, at::kDouble).view({1, 2}),
                               .returns = at::tensor({0.0, 1.0}, at::kDouble).view({1, 2}),
                               .mask = at::ones({1, 2}, at::kDouble)};
  const at::Tensor current = values.clone().requires_grad_(true);
  ValueLossInputs with = inputs;
  with.values = current;
  const ValueLossOutput out = clipped_value_loss(with, 0.2, learner::LossAggregation::kTokenMean, 0);
  out.loss.backward();
  EXPECT_NEAR(out.loss.item<double>(), 0.6725, 1e-12);
  EXPECT_TRUE(at::allclose(current.grad(), at::tensor({0.0, 0.5}, at::kDouble).view({1, 2}), 0, 1e-12));
  EXPECT_DOUBLE_EQ(out.clip_fraction, 0.5);
  expect_gradient_matches(
      [&](const at::Tensor& v) {
        ValueLossInputs at_v = inputs;
        at_v.values = v;
        return clipped_value_loss(at_v, 0.2, learner::LossAggregation::kTokenMean, 0).loss;
      },
      values);
}

// Sequence weights w = [0.5, 2] (a stale sample's down-weighting), clip range 0.1, token mean
// over the 3 masked tokens:
//   (0,0) V 1.0, V_old 0.8, R 0: (V - R)^2 = 1; clipped V 0.9, 0.81: unclipped binds; w l = 0.5
//   (0,1) V 2.0, V_old 2.0, R 2.5: both 0.25; w l = 0.125
//   (1,0) V 1.4, V_old 0.8, R 1.5: 0.01; clipped V 0.9, 0.36: clipped binds (no gradient); w l = 0.72
//   (1,1) masked (its return 9 is ignored)
// loss = 0.5 * (0.5 + 0.125 + 0.72) / 3 = 0.2241666..., clip fraction 1/3 (a fraction of tokens,
// unweighted), gradient 0.5 w 2 (V - R) / 3 = [[1/6, -1/12], [0, 0]]. The weights leave the
// denominator alone; a mini-batch scope of 6 tokens halves loss and gradient.
TEST(ValueLoss, SequenceWeightsScaleEachSequencesTokensAsInThePolicyLoss) {
  const at::Tensor values = at::tensor({1.0, 2.0, 1.4, 0.3}, at::kDouble).view({2, 2});
  const ValueLossInputs inputs{.values = values,
                               .old_values = at::tensor({0.8, 2.0, 0.8, 0.0}, at::kDouble).view({2, 2}),
                               .returns = at::tensor({0.0, 2.5, 1.5, 9.0}, at::kDouble).view({2, 2}),
                               .mask = at::tensor({1.0, 1.0, 1.0, 0.0}, at::kDouble).view({2, 2}),
                               .sequence_weights = at::tensor({0.5, 2.0}, at::kDouble)};
  const auto loss_at = [&](const at::Tensor& v, const AggregationScope* scope) {
    ValueLossInputs at_v = inputs;
    at_v.values = v;
    at_v.scope = scope;
    return clipped_value_loss(at_v, 0.1, learner::LossAggregation::kTokenMean, 0);
  };
  const at::Tensor current = values.clone().requires_grad_(true);
  const ValueLossOutput out = loss_at(current, nullptr);
  out.loss.backward();
  EXPECT_NEAR(out.loss.item<double>(), 0.5 * 1.345 / 3, 1e-12);
  EXPECT_TRUE(at::allclose(current.grad(), at::tensor({1.0 / 6, -1.0 / 12, 0.0, 0.0}, at::kDouble).view({2, 2}), 0,
                           1e-12));
  EXPECT_DOUBLE_EQ(out.clip_fraction, 1.0 / 3);
  expect_gradient_matches([&](const at::Tensor& v) { return loss_at(v, nullptr).loss; }, values);

  const AggregationScope mini_batch{.tokens = 6, .sequences_with_tokens = 4, .sequences = 4};
  const at::Tensor scoped = values.clone().requires_grad_(true);
  const ValueLossOutput part = loss_at(scoped, &mini_batch);
  part.loss.backward();
  EXPECT_NEAR(part.loss.item<double>(), 0.5 * 1.345 / 6, 1e-12);
  EXPECT_TRUE(at::allclose(scoped.grad(), current.grad() / 2, 0, 1e-12));
}

TEST(PolicyLoss, MismatchedShapesAreABug) {
  const Example example;
  PolicyLossInputs inputs = example.inputs(example.logprobs);
  inputs.advantages = at::ones({3}, at::kDouble);
  EXPECT_THROW(policy_loss(inputs, kPpo), InternalError);
  inputs = example.inputs(example.logprobs);
  learner::PolicyLossOptions options = kPpo;
  options.entropy_coef = 0.1;
  EXPECT_THROW(policy_loss(inputs, options), InternalError);
}

} // namespace
} // namespace caravan::learner
