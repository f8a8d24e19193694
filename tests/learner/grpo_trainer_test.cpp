#include "learner/grpo_trainer.h"

#include <gtest/gtest.h>

#include <cmath>

#include "tests/learner/trainer_test_util.h"

namespace caravan::learner {
namespace {

constexpr double kTemperature = 0.8;

core::GrpoOptions test_options() {
  core::GrpoOptions options;
  options.group_size = 4;
  options.learning_rate = 1e-2;
  options.kl_coef = 0.01;
  return options;
}

// Two prompts, four completions each; completion 1 of group 0 and completion 3 of group 1 are
// rewarded. Logprobs are recomputed from the current policy, as on-policy rollouts would be.
std::vector<RolloutGroup> make_groups(model::LlamaImpl& policy) {
  const std::vector<std::vector<int32_t>> prompts = {{10, 11, 12}, {20, 21}};
  const std::vector<std::vector<int32_t>> completions = {{50, 51}, {60, 61, 62}, {70}, {80, 81}};
  const size_t rewarded[] = {1, 3};
  std::vector<RolloutGroup> groups;
  for (size_t g = 0; g < prompts.size(); ++g) {
    RolloutGroup group{.prompt_id = 100 + g, .prompt_tokens = prompts[g]};
    for (size_t s = 0; s < completions.size(); ++s) {
      group.samples.push_back({.tokens = completions[s],
                               .logprobs = testing::completion_logprobs(policy, prompts[g], completions[s], kTemperature),
                               .reward = s == rewarded[g] ? 1.0f : 0.0f});
    }
    groups.push_back(std::move(group));
  }
  return groups;
}

TEST(GrpoTrainer, RaisesTheLogprobOfRewardedCompletions) {
  model::Llama policy = testing::tiny_llama(/*seed=*/0);
  GrpoTrainer trainer(policy, test_options(), kTemperature, /*pad_id=*/0);
  const double rewarded_before = testing::mean_logprob(*policy, {10, 11, 12}, {60, 61, 62}, kTemperature);
  const double unrewarded_before = testing::mean_logprob(*policy, {10, 11, 12}, {50, 51}, kTemperature);

  Result<GrpoStepStats> first = trainer.step(make_groups(*policy));
  ASSERT_TRUE(first.ok()) << first.status().to_string();
  // The policy equals the reference and the rollout policy before the first update.
  EXPECT_NEAR(first->kl_mean, 0.0, 1e-6);
  EXPECT_EQ(first->clip_fraction, 0.0);
  EXPECT_DOUBLE_EQ(first->reward_mean, 0.25);
  EXPECT_EQ(first->tokens, 2 * (2 + 3 + 1 + 2));
  EXPECT_GT(first->grad_norm, 0.0);
  GrpoStepStats last = *first;
  for (int i = 0; i < 5; ++i) {
    Result<GrpoStepStats> stats = trainer.step(make_groups(*policy));
    ASSERT_TRUE(stats.ok()) << stats.status().to_string();
    last = *stats;
  }
  // The reference stayed frozen while the policy moved away from it.
  EXPECT_GT(last.kl_mean, 1e-4);
  EXPECT_GT(testing::mean_logprob(*policy, {10, 11, 12}, {60, 61, 62}, kTemperature), rewarded_before + 0.1);
  EXPECT_LT(testing::mean_logprob(*policy, {10, 11, 12}, {50, 51}, kTemperature), unrewarded_before);
  // The trainer updates the caller's module in place.
  EXPECT_EQ(trainer.policy().ptr(), policy.ptr());
}

TEST(GrpoTrainer, IdenticalRewardsWithoutKlGiveNoGradient) {
  model::Llama policy = testing::tiny_llama(/*seed=*/1);
  core::GrpoOptions options = test_options();
  options.kl_coef = 0.0;
  GrpoTrainer trainer(policy, options, kTemperature, /*pad_id=*/0);
  std::vector<RolloutGroup> groups = make_groups(*policy);
  for (RolloutGroup& group : groups) {
    for (RolloutSample& sample : group.samples) sample.reward = 1.0f;
  }
  Result<GrpoStepStats> stats = trainer.step(groups);
  ASSERT_TRUE(stats.ok());
  EXPECT_EQ(stats->loss, 0.0);
  EXPECT_EQ(stats->grad_norm, 0.0);
}

TEST(GrpoTrainer, UnjudgedSamplesAreLeftOutOfTheUpdate) {
  // Sample 2 of every group "timed out" with a meaningless reward of 100. The update must equal
  // the one computed from the same groups without those samples.
  model::Llama with_unjudged = testing::tiny_llama(/*seed=*/2);
  model::Llama without = testing::tiny_llama(/*seed=*/2);
  std::vector<RolloutGroup> groups = make_groups(*with_unjudged);
  std::vector<RolloutGroup> reduced = groups;
  for (size_t g = 0; g < groups.size(); ++g) {
    groups[g].samples[2].reward = 100.0f;
    groups[g].samples[2].judged = false;
    reduced[g].samples.erase(reduced[g].samples.begin() + 2);
  }
  GrpoTrainer trainer(with_unjudged, test_options(), kTemperature, /*pad_id=*/0);
  core::GrpoOptions reduced_options = test_options();
  reduced_options.group_size = 3;
  GrpoTrainer reference_trainer(without, reduced_options, kTemperature, /*pad_id=*/0);

  Result<GrpoStepStats> stats = trainer.step(groups);
  Result<GrpoStepStats> reference_stats = reference_trainer.step(reduced);
  ASSERT_TRUE(stats.ok()) << stats.status().to_string();
  ASSERT_TRUE(reference_stats.ok()) << reference_stats.status().to_string();
  EXPECT_DOUBLE_EQ(stats->judged_fraction, 0.75);
  EXPECT_DOUBLE_EQ(stats->reward_mean, reference_stats->reward_mean);
  EXPECT_EQ(stats->tokens, reference_stats->tokens);
  EXPECT_NEAR(stats->loss, reference_stats->loss, 1e-6);
  EXPECT_NEAR(stats->grad_norm, reference_stats->grad_norm, 1e-5 * reference_stats->grad_norm);
  EXPECT_GT(stats->grad_norm, 0.0);
}

TEST(GrpoTrainer, AStepWithNothingJudgedMakesNoUpdate) {
  model::Llama policy = testing::tiny_llama(/*seed=*/3);
  GrpoTrainer trainer(policy, test_options(), kTemperature, /*pad_id=*/0);
  std::vector<RolloutGroup> groups = make_groups(*policy);
  for (RolloutGroup& group : groups) {
    for (RolloutSample& sample : group.samples) sample.judged = false;
  }
  const at::Tensor before = policy->parameters().front().clone();
  Result<GrpoStepStats> stats = trainer.step(groups);
  ASSERT_TRUE(stats.ok()) << stats.status().to_string();
  EXPECT_EQ(stats->judged_fraction, 0.0);
  EXPECT_EQ(stats->tokens, 0);
  EXPECT_TRUE(at::equal(before, policy->parameters().front()));
}

TEST(GrpoTrainer, RejectsBadInputNamingTheGroupWithoutTouchingWeights) {
  model::Llama policy = testing::tiny_llama(/*seed=*/2);
  GrpoTrainer trainer(policy, test_options(), kTemperature, /*pad_id=*/0);
  const std::vector<at::Tensor> before = testing::snapshot(*policy);

  std::vector<RolloutGroup> uneven = make_groups(*policy);
  uneven[1].samples.pop_back();
  Result<GrpoStepStats> stats = trainer.step(uneven);
  ASSERT_EQ(stats.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(stats.status().message().find("group 1 (prompt_id 101)"), std::string::npos)
      << stats.status().message();

  std::vector<RolloutGroup> short_logprobs = make_groups(*policy);
  short_logprobs[0].samples[2].logprobs.clear();
  stats = trainer.step(short_logprobs);
  ASSERT_EQ(stats.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(stats.status().message().find("group 0 (prompt_id 100) sample 2"), std::string::npos)
      << stats.status().message();

  std::vector<RolloutGroup> bad_token = make_groups(*policy);
  bad_token[1].samples[0].tokens[0] = 259;
  stats = trainer.step(bad_token);
  ASSERT_EQ(stats.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(stats.status().message().find("group 1"), std::string::npos) << stats.status().message();

  std::vector<RolloutGroup> nan_reward = make_groups(*policy);
  nan_reward[1].samples[3].reward = std::nanf("");
  stats = trainer.step(nan_reward);
  ASSERT_EQ(stats.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(stats.status().message().find("group 1 (prompt_id 101) sample 3: reward nan is not finite"),
            std::string::npos)
      << stats.status().message();

  EXPECT_EQ(trainer.step({}).status().code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(testing::same_weights(*policy, before));
}

TEST(GrpoTrainer, AcceptsEmptyCompletions) {
  model::Llama policy = testing::tiny_llama(/*seed=*/3);
  GrpoTrainer trainer(policy, test_options(), kTemperature, /*pad_id=*/0);
  RolloutGroup group{.prompt_id = 1, .prompt_tokens = {5, 6}};
  group.samples.push_back({.reward = 1.0f});
  group.samples.push_back({.tokens = {7}, .logprobs = testing::completion_logprobs(*policy, {5, 6}, {7}, kTemperature)});
  Result<GrpoStepStats> stats = trainer.step({group});
  ASSERT_TRUE(stats.ok()) << stats.status().to_string();
  EXPECT_EQ(stats->tokens, 1);
}

} // namespace
} // namespace caravan::learner
