// PPO in the RL step: GrpoTrainer with advantage_estimator = "gae" and a value trainer.
#include <gtest/gtest.h>

#include <cmath>
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

std::unique_ptr<ValueTrainer> critic_of(const model::Llama& policy, double learning_rate) {
  const ValueModelOptions options{.source = "policy", .path = "", .learning_rate = learning_rate};
  return std::make_unique<ValueTrainer>(value_model_from_policy(policy), options, ValueUpdateOptions{});
}

std::map<std::string, double> terms_of(const GrpoStepStats& stats) {
  return {stats.terms.begin(), stats.terms.end()};
}

// The first step's GAE, written out per sample: with V_t the value read before completion token
// t (hidden state x head), r_t = 0 except the outcome on the last token, V after the last = 0:
//   delta_t = r_t + gamma V_{t+1} - V_t,   A_t = delta_t + gamma lambda A_{t+1},   R_t = A_t + V_t.
// Before any update V = V_old and the ratio is 1, so (token mean over all completion tokens):
//   value_loss  = 0.5 mean((V - R)^2) = 0.5 mean(A^2)
//   policy_loss = -mean(A)                      (no whitening)
//   explained_variance = 1 - Var(A) / (Var(R) + 1e-5)
TEST(PpoTrainer, GaeMatchesTheRecursionComputedByHand) {
  const double gamma = 0.9;
  const double lambda = 0.8;
  model::Llama policy = testing::tiny_llama(/*seed=*/11);
  std::unique_ptr<ValueTrainer> critic = critic_of(policy, 1e-3);
  at::manual_seed(12);
  const at::Tensor head = at::randn({1, policy->config().hidden_size});
  {
    at::NoGradGuard no_grad;
    critic->model()->head()->weight.copy_(head);
  }
  const std::vector<RolloutGroup> groups = testing::rewarded_groups(*policy);

  std::vector<double> advantages;
  std::vector<double> returns;
  for (const RolloutGroup& group : groups) {
    for (const RolloutSample& sample : group.samples) {
      const SequenceBatch one =
          pack_sequences({{.prompt = group.prompt_tokens, .completion = sample.tokens}}, /*pad_id=*/0).value();
      at::Tensor hidden;
      {
        at::NoGradGuard no_grad;
        hidden = target_hidden_states(*policy, one)[0];
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
        advantages.push_back(a[t]);
        returns.push_back(a[t] + v[t]);
      }
    }
  }
  const auto mean = [](const std::vector<double>& x) {
    double sum = 0;
    for (double value : x) sum += value;
    return sum / static_cast<double>(x.size());
  };
  const auto variance = [&](const std::vector<double>& x) {
    const double m = mean(x);
    double sum = 0;
    for (double value : x) sum += (value - m) * (value - m);
    return sum / static_cast<double>(x.size());
  };
  std::vector<double> squares;
  for (double a : advantages) squares.push_back(a * a);

  GrpoTrainer trainer(policy, ppo_options(gamma, lambda, /*whiten=*/false), testing::rollout_test_options(),
                      /*pad_id=*/0, std::move(critic));
  Result<GrpoStepStats> stats = trainer.step(groups, /*policy_version=*/0);
  ASSERT_TRUE(stats.ok()) << stats.status().to_string();
  const std::map<std::string, double> terms = terms_of(*stats);
  ASSERT_EQ(advantages.size(), static_cast<size_t>(stats->tokens));
  EXPECT_NEAR(terms.at("value_loss"), 0.5 * mean(squares), 1e-5);
  EXPECT_NEAR(terms.at("policy_loss"), -mean(advantages), 1e-4);
  EXPECT_NEAR(terms.at("explained_variance"), 1.0 - variance(advantages) / (variance(returns) + 1e-5), 1e-4);
  EXPECT_EQ(terms.at("value_clip_fraction"), 0.0);
  EXPECT_EQ(trainer.value_trainer()->steps_done(), 1);
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
