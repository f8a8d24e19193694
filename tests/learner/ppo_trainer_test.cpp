// PPO in the RL step: GrpoTrainer with advantage_estimator = "gae" and a value trainer.
#include <gtest/gtest.h>

#include <cmath>
#include <iostream>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "learner/grpo_trainer.h"
#include "learner/value_trainer.h"
#include "tests/learner/trainer_test_util.h"

namespace caravan::learner {
namespace {

using testing::kTemperature;

learner::GrpoOptions ppo_options(double gamma, double lambda, bool whiten) {
  learner::GrpoOptions options = testing::grpo_test_options();
  options.kl.coef = 0.0;
  options.advantage = {.estimator = learner::AdvantageEstimator::kGae,
                       .gae_gamma = gamma,
                       .gae_lambda = lambda,
                       .gae_whiten = whiten};
  return options;
}

std::unique_ptr<ValueTrainer> critic_of(const model::Llama& policy, double learning_rate,
                                        const ValueUpdateOptions& update = {}, double vf_clip = 0.2) {
  const ValueModelOptions options{.source = "policy", .path = "", .learning_rate = learning_rate, .vf_clip = vf_clip};
  return std::make_unique<ValueTrainer>(value_model_from_policy(policy), options, update);
}

// The critic's head set to N(0, 1) entries drawn from `seed` (a fresh head is 0, which leaves the
// body without gradient and every value 0). Returns the head [1, hidden].
at::Tensor randomise_head(ValueTrainer& critic, uint64_t seed) {
  at::manual_seed(seed);
  const at::Tensor head = at::randn({1, critic.model()->head()->weight.size(1)});
  at::NoGradGuard no_grad;
  critic.model()->head()->weight.copy_(head);
  return head;
}

std::map<std::string, double> terms_of(const GrpoStepStats& stats) {
  return {stats.terms.begin(), stats.terms.end()};
}

// One completion token of the hand computation below.
struct HandToken {
  double advantage = 0;
  double value_return = 0;
  // Its sample's weight.
  double weight = 1;
};

// The first step's GAE, written out per sample: with V_t the value read before completion token
// t (hidden state x head), r_t = 0 except the outcome on the last token, V after the last = 0:
//   delta_t = r_t + gamma V_{t+1} - V_t,   A_t = delta_t + gamma lambda A_{t+1},   R_t = A_t + V_t.
// Every completion token of `groups` in order.
std::vector<HandToken> gae_by_hand(model::LlamaImpl& policy, const at::Tensor& head,
                                   const std::vector<RolloutGroup>& groups, double gamma, double lambda) {
  std::vector<HandToken> tokens;
  for (const RolloutGroup& group : groups) {
    for (const RolloutSample& sample : group.samples) {
      const SequenceBatch one =
          pack_sequences({{.prompt = group.prompt_tokens, .completion = sample.tokens}}, /*pad_id=*/0).value();
      at::Tensor hidden;
      {
        at::NoGradGuard no_grad;
        hidden = target_hidden_states(policy, one)[0];
      }
      const auto first = static_cast<int64_t>(group.prompt_tokens.size()) - 1;
      const auto n = static_cast<int64_t>(sample.tokens.size());
      std::vector<double> v(static_cast<size_t>(n));
      for (int64_t t = 0; t < n; ++t) v[t] = at::dot(hidden[first + t], head[0]).item<double>();
      std::vector<double> a(static_cast<size_t>(n));
      double next_value = 0;
      double next_advantage = 0;
      for (int64_t t = n - 1; t >= 0; --t) {
        const double reward = t == n - 1 ? sample.reward : 0.0;
        a[t] = reward + gamma * next_value - v[t] + gamma * lambda * next_advantage;
        next_value = v[t];
        next_advantage = a[t];
      }
      for (int64_t t = 0; t < n; ++t) {
        tokens.push_back({.advantage = a[t], .value_return = a[t] + v[t], .weight = sample.weight});
      }
    }
  }
  return tokens;
}

// Masked token means and (biased) variances of the hand computation.
double mean_of(const std::vector<HandToken>& tokens, double (*f)(const HandToken&)) {
  double sum = 0;
  for (const HandToken& token : tokens) sum += f(token);
  return sum / static_cast<double>(tokens.size());
}
double variance_of(const std::vector<HandToken>& tokens, double (*f)(const HandToken&)) {
  const double m = mean_of(tokens, f);
  double sum = 0;
  for (const HandToken& token : tokens) sum += (f(token) - m) * (f(token) - m);
  return sum / static_cast<double>(tokens.size());
}

// The batch layouts of the micro-batching tests: one pass; padded passes of <= 12 tokens; packed
// passes of <= 10 tokens; one packed pass per sequence.
const std::pair<bool, int64_t> kLayouts[] = {{false, 0}, {false, 12}, {true, 10}, {true, 1}};

// Before any update V = V_old and the ratio is 1, so with sample weights w (1, or less for a
// sample down-weighted as stale) and token means over all N completion tokens of the whole
// batch, whatever the micro-batches (the weights leave the denominators alone, in the value loss
// as in the policy loss):
//   value_loss  = 0.5 sum(w (V - R)^2) / N = 0.5 sum(w A^2) / N
//   policy_loss = -sum(w A) / N                  (no whitening)
//   explained_variance = 1 - Var(A) / (Var(R) + 1e-5)   (unweighted; A and R do not depend on w)
TEST(PpoTrainer, GaeAndTheWeightedLossesMatchTheRecursionComputedByHand) {
  const double gamma = 0.9;
  const double lambda = 0.8;
  const std::vector<float> fresh = {1.0f, 1.0f, 1.0f, 1.0f};
  const std::vector<float> stale = {1.0f, 0.5f, 0.25f, 0.0f};
  for (const std::vector<float>& weights : {fresh, stale}) {
    for (const auto& [packed, budget] : kLayouts) {
      SCOPED_TRACE(str_cat("weights ", weights[1], " packed ", packed, " micro_batch_tokens ", budget));
      model::Llama policy = testing::tiny_llama(/*seed=*/11);
      std::unique_ptr<ValueTrainer> critic = critic_of(policy, 1e-3);
      const at::Tensor head = randomise_head(*critic, /*seed=*/12);
      std::vector<RolloutGroup> groups = testing::rewarded_groups(*policy);
      for (RolloutGroup& group : groups) {
        for (size_t s = 0; s < group.samples.size(); ++s) group.samples[s].weight = weights[s];
      }
      const std::vector<HandToken> tokens = gae_by_hand(*policy, head, groups, gamma, lambda);

      learner::GrpoOptions options = ppo_options(gamma, lambda, /*whiten=*/false);
      options.batching.micro = {.micro_batch_tokens = budget, .pack_sequences = packed};
      GrpoTrainer trainer(policy, options, testing::rollout_test_options(), /*pad_id=*/0, std::move(critic));
      Result<GrpoStepStats> stats = trainer.step(groups, /*policy_version=*/0);
      ASSERT_TRUE(stats.ok()) << stats.status().to_string();
      const std::map<std::string, double> terms = terms_of(*stats);
      ASSERT_EQ(tokens.size(), static_cast<size_t>(stats->tokens));
      EXPECT_NEAR(terms.at("value_loss"),
                  0.5 * mean_of(tokens, [](const HandToken& t) { return t.weight * t.advantage * t.advantage; }),
                  1e-5);
      EXPECT_NEAR(terms.at("policy_loss"),
                  -mean_of(tokens, [](const HandToken& t) { return t.weight * t.advantage; }), 1e-4);
      EXPECT_NEAR(terms.at("explained_variance"),
                  1.0 - variance_of(tokens, [](const HandToken& t) { return t.advantage; }) /
                            (variance_of(tokens, [](const HandToken& t) { return t.value_return; }) + 1e-5),
                  1e-4);
      EXPECT_EQ(terms.at("value_clip_fraction"), 0.0);
      EXPECT_EQ(trainer.value_trainer()->steps_done(), 1);
    }
  }
}

// Repeating one batch, the value model fits the returns and the policy raises the rewarded
// completion (PPO with whitened GAE advantages). With lambda = 1 the returns are the Monte-Carlo
// returns (the outcome reward), whatever the values: a fixed regression target.
TEST(PpoTrainer, RepeatedStepsFitTheValuesAndRaiseTheRewardedCompletion) {
  model::Llama policy = testing::tiny_llama(/*seed=*/0);
  GrpoTrainer trainer(policy, ppo_options(/*gamma=*/1.0, /*lambda=*/1.0, /*whiten=*/true),
                      testing::rollout_test_options(), /*pad_id=*/0, critic_of(policy, 1e-3));
  const double rewarded_before = testing::mean_logprob(*policy, {10, 11, 12}, {60, 61, 62}, kTemperature);
  std::vector<double> value_losses;
  std::string trace;
  for (int i = 0; i < 10; ++i) {
    Result<GrpoStepStats> stats = trainer.step(testing::rewarded_groups(*policy), /*policy_version=*/0);
    ASSERT_TRUE(stats.ok()) << stats.status().to_string();
    value_losses.push_back(terms_of(*stats).at("value_loss"));
    trace += std::to_string(value_losses.back()) + " ";
  }
  // Measured: 0.156 falling every step to 0.106 (the targets' mean alone would leave 0.5 Var(R)).
  for (size_t i = 1; i < value_losses.size(); ++i) EXPECT_LT(value_losses[i], value_losses[i - 1]) << trace;
  EXPECT_LT(value_losses.back(), 0.75 * value_losses.front()) << trace;
  EXPECT_GT(testing::mean_logprob(*policy, {10, 11, 12}, {60, 61, 62}, kTemperature), rewarded_before + 0.1);
}

// The value model's side of a PPO step, by micro-batches or whole (point 1 of the batching
// work, as GrpoBatching checks the policy's).
struct ValueStep {
  std::map<std::string, double> terms;
  // The value model's gradients of the last optimizer step (clipped, as AdamW used them).
  std::vector<at::Tensor> gradients;
  std::vector<at::Tensor> weights;
};

ValueStep ppo_step(const learner::GrpoOptions& options, double value_learning_rate, double vf_clip) {
  model::Llama policy = testing::tiny_llama(/*seed=*/9);
  const ValueUpdateOptions update{.max_grad_norm = options.max_grad_norm,
                                  .aggregation = options.loss.aggregation,
                                  .max_tokens = testing::rollout_test_options().max_new_tokens};
  std::unique_ptr<ValueTrainer> critic = critic_of(policy, value_learning_rate, update, vf_clip);
  randomise_head(*critic, /*seed=*/4);
  const std::vector<RolloutGroup> groups = testing::rewarded_groups(*policy);
  GrpoTrainer trainer(policy, options, testing::rollout_test_options(), /*pad_id=*/0, std::move(critic));
  const GrpoStepStats stats = trainer.step(groups, /*policy_version=*/0).value();
  ValueStep out{.terms = terms_of(stats), .gradients = testing::gradients(*trainer.value_trainer()->model()),
                .weights = {}};
  for (const at::Tensor& p : trainer.value_trainer()->model()->parameters()) out.weights.push_back(p.detach().clone());
  EXPECT_EQ(trainer.value_trainer()->steps_done(), 1);
  return out;
}

void expect_same_value_terms(const ValueStep& expected, const ValueStep& actual, double tolerance) {
  for (const char* name : {"value_loss", "value_clip_fraction", "explained_variance"}) {
    EXPECT_NEAR(actual.terms.at(name), expected.terms.at(name), tolerance) << name;
  }
}

TEST(PpoBatching, MicroBatchedAndPackedValueStepsEqualTheOneShotStepForEveryAggregation) {
  for (const learner::LossAggregation aggregation :
       {learner::LossAggregation::kTokenMean, learner::LossAggregation::kSequenceMeanTokenMean,
        learner::LossAggregation::kConstantDenominator}) {
    learner::GrpoOptions options = ppo_options(/*gamma=*/0.9, /*lambda=*/0.8, /*whiten=*/true);
    options.loss.aggregation = aggregation;
    const ValueStep expected = ppo_step(options, 1e-2, 0.2);
    for (const auto& [packed, budget] : kLayouts) {
      SCOPED_TRACE(str_cat("aggregation ", enum_name(aggregation), " packed ", packed, " micro_batch_tokens ", budget));
      options.batching.micro = {.micro_batch_tokens = budget, .pack_sequences = packed};
      const ValueStep actual = ppo_step(options, 1e-2, 0.2);
      expect_same_value_terms(expected, actual, 1e-5);
      testing::expect_same_gradients(expected.gradients, actual.gradients);
    }
  }
}

// mini_batches x epochs = 2 x 3: the value model makes the policy's 6 optimizer steps, each over
// its mini-batch's micro-batches, clipping against the values before the first (so later steps
// clip some tokens: measured 4 of 96 token-steps with vf_clip 0.02 and lr 1e-2). Micro-batched
// and packed, the terms (means over all 6 steps and the whole batch) and the weights equal the
// one-pass run's.
TEST(PpoBatching, TheValueModelMakesThePolicysMiniBatchesTimesEpochsSteps) {
  learner::GrpoOptions options = ppo_options(/*gamma=*/0.9, /*lambda=*/0.8, /*whiten=*/true);
  options.batching = {.micro = {}, .mini_batches = 2, .epochs = 3};
  const ValueStep expected = ppo_step(options, 1e-2, 0.02);
  EXPECT_GT(expected.terms.at("value_clip_fraction"), 0.0);
  {
    model::Llama policy = testing::tiny_llama(/*seed=*/9);
    GrpoTrainer trainer(policy, options, testing::rollout_test_options(), /*pad_id=*/0, critic_of(policy, 1e-2));
    ASSERT_TRUE(trainer.step(testing::rewarded_groups(*policy), /*policy_version=*/0).ok());
    ValueTrainer& critic = *trainer.value_trainer();
    for (const at::Tensor& parameter : critic.model()->parameters()) {
      EXPECT_EQ(testing::adamw_steps(critic.optimizer(), parameter), 6);
    }
    EXPECT_EQ(testing::adamw_steps(trainer.optimizer(), policy->parameters().front()), 6);
    // The warm-up counts TrainBatches, as the policy's schedule does.
    EXPECT_EQ(critic.steps_done(), 1);
  }
  for (const auto& [packed, budget] : kLayouts) {
    SCOPED_TRACE(str_cat("packed ", packed, " micro_batch_tokens ", budget));
    options.batching.micro = {.micro_batch_tokens = budget, .pack_sequences = packed};
    const ValueStep actual = ppo_step(options, 1e-2, 0.02);
    expect_same_value_terms(expected, actual, 1e-4);
    // AdamW's first steps are about lr x sign(g), so an entry whose gradient is within rounding
    // of 0 may move by up to 2 lr either way: the mean difference over all entries, not the
    // largest, tells rounding (measured 4e-8) from different steps (about lr = 1e-2 per entry).
    double difference = 0;
    int64_t entries = 0;
    for (size_t i = 0; i < expected.weights.size(); ++i) {
      difference += (actual.weights[i] - expected.weights[i]).abs().sum().item<double>();
      entries += expected.weights[i].numel();
    }
    std::cout << "[ measured ] mean |weight difference| " << difference / static_cast<double>(entries) << "\n";
    EXPECT_LT(difference / static_cast<double>(entries), 1e-6);
  }
}

// bf16 autocast covers the value model's forward passes: V and the value loss move from the
// float32 ones by bfloat16 rounding only, and the parameters, their gradients and AdamW's state
// stay float32 (master weights). Measured: largest |V_bf16 - V_fp32| 0.043 at |V| up to 11.7
// (0.37%), value loss 27.277 against 27.295 (0.07%); the bounds are 5% of the largest |V| and
// 2% of the loss.
TEST(ValueTrainer, Bf16AutocastKeepsTheValueLossNearFloat32OnFloat32Weights) {
  model::Llama policy = testing::tiny_llama(/*seed=*/13);
  const std::vector<RolloutGroup> groups = testing::rewarded_groups(*policy);
  std::vector<SequenceSpec> sequences;
  std::vector<int64_t> lengths;
  for (const RolloutGroup& group : groups) {
    for (const RolloutSample& sample : group.samples) {
      sequences.push_back({.prompt = group.prompt_tokens, .completion = sample.tokens});
      lengths.push_back(static_cast<int64_t>(group.prompt_tokens.size() + sample.tokens.size()));
    }
  }
  const RlBatchingOptions batching{.micro = {.micro_batch_tokens = 10, .pack_sequences = true}, .mini_batches = 2};
  const std::vector<MiniBatch> plan = plan_mini_batches(lengths, batching);
  const ValueBatch batch{
      .plan = plan,
      .epochs = 1,
      .lay_out = [&](SequenceRange range) {
        return pack_sequences(
            std::vector<SequenceSpec>(sequences.begin() + range.begin, sequences.begin() + range.end),
            /*pad_id=*/0, RowLayout::kPacked);
      },
      .mask = pack_sequences(sequences, /*pad_id=*/0).value().loss_mask};
  // Regression targets 1 on every completion token.
  const at::Tensor returns = batch.mask.clone();

  const auto run = [&](bool autocast) {
    std::unique_ptr<ValueTrainer> critic = critic_of(policy, 1e-3, {.bf16_autocast = autocast});
    randomise_head(*critic, /*seed=*/5);
    const at::Tensor old_values = critic->values(batch).value();
    const ValueUpdateStats stats = critic->update(batch, old_values, returns).value();
    for (const at::Tensor& p : critic->model()->parameters()) {
      EXPECT_EQ(p.scalar_type(), at::kFloat);
      EXPECT_TRUE(p.grad().defined() && p.grad().scalar_type() == at::kFloat);
      EXPECT_EQ(testing::adamw_steps(critic->optimizer(), p), 2);
    }
    return std::make_pair(old_values, stats);
  };
  const auto [float_values, float_stats] = run(false);
  const auto [bf16_values, bf16_stats] = run(true);
  EXPECT_EQ(bf16_values.scalar_type(), at::kFloat);
  const double value_gap = (bf16_values - float_values).abs().max().item<double>();
  const double value_scale = float_values.abs().max().item<double>();
  std::cout << "[ measured ] bf16 autocast: largest |V_bf16 - V_fp32| " << value_gap << " (largest |V| "
            << value_scale << "), value loss " << bf16_stats.loss << " vs " << float_stats.loss << "\n";
  EXPECT_GT(value_gap, 0.0) << "autocast did not reach the value model";
  EXPECT_LT(value_gap, 0.05 * value_scale);
  EXPECT_NEAR(bf16_stats.loss, float_stats.loss, 0.02 * float_stats.loss);
}

TEST(PpoTrainer, ValueModelIsGivenExactlyForGae) {
  model::Llama policy = testing::tiny_llama(/*seed=*/0);
  EXPECT_THROW(GrpoTrainer trainer(policy, ppo_options(1.0, 0.95, true), testing::rollout_test_options(), 0),
               InternalError);
  EXPECT_THROW(GrpoTrainer trainer(policy, testing::grpo_test_options(), testing::rollout_test_options(), 0,
                                   critic_of(policy, 1e-3)),
               InternalError);
}

}  // namespace
} // namespace caravan::learner
