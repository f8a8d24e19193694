#include "learner/grpo_trainer.h"

#include <gtest/gtest.h>

#include <cmath>

#include "tests/learner/trainer_test_util.h"

namespace caravan::learner {
namespace {

using testing::kTemperature;

TEST(GrpoTrainer, RaisesTheLogprobOfRewardedCompletions) {
  model::Llama policy = testing::tiny_llama(/*seed=*/0);
  GrpoTrainer trainer(policy, testing::grpo_test_options(), kTemperature, /*pad_id=*/0);
  const double rewarded_before = testing::mean_logprob(*policy, {10, 11, 12}, {60, 61, 62}, kTemperature);
  const double unrewarded_before = testing::mean_logprob(*policy, {10, 11, 12}, {50, 51}, kTemperature);

  Result<GrpoStepStats> first = trainer.step(testing::rewarded_groups(*policy));
  ASSERT_TRUE(first.ok()) << first.status().to_string();
  // The policy equals the reference and the rollout policy before the first update.
  EXPECT_NEAR(first->kl_mean, 0.0, 1e-6);
  EXPECT_EQ(first->clip_fraction, 0.0);
  EXPECT_DOUBLE_EQ(first->reward_mean, 0.25);
  EXPECT_EQ(first->tokens, 2 * (2 + 3 + 1 + 2));
  EXPECT_GT(first->grad_norm, 0.0);
  GrpoStepStats last = *first;
  for (int i = 0; i < 5; ++i) {
    Result<GrpoStepStats> stats = trainer.step(testing::rewarded_groups(*policy));
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
  core::GrpoOptions options = testing::grpo_test_options();
  options.kl_coef = 0.0;
  GrpoTrainer trainer(policy, options, kTemperature, /*pad_id=*/0);
  std::vector<RolloutGroup> groups = testing::rewarded_groups(*policy);
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
  std::vector<RolloutGroup> groups = testing::rewarded_groups(*with_unjudged);
  std::vector<RolloutGroup> reduced = groups;
  for (size_t g = 0; g < groups.size(); ++g) {
    groups[g].samples[2].reward = 100.0f;
    groups[g].samples[2].judged = false;
    reduced[g].samples.erase(reduced[g].samples.begin() + 2);
  }
  GrpoTrainer trainer(with_unjudged, testing::grpo_test_options(), kTemperature, /*pad_id=*/0);
  core::GrpoOptions reduced_options = testing::grpo_test_options();
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

// A sample of weight 0 gives no gradient but keeps its place in its group's baseline: the update
// equals that of the same groups where its completion is empty (which has no loss terms either).
TEST(GrpoTrainer, ASampleOfWeightZeroContributesNoGradient) {
  model::Llama weighted = testing::tiny_llama(/*seed=*/4);
  model::Llama emptied = testing::tiny_llama(/*seed=*/4);
  std::vector<RolloutGroup> groups = testing::rewarded_groups(*weighted);
  std::vector<RolloutGroup> without_terms = groups;
  groups[0].samples[1].weight = 0.0f;
  without_terms[0].samples[1].tokens.clear();
  without_terms[0].samples[1].logprobs.clear();
  GrpoTrainer weighted_trainer(weighted, testing::grpo_test_options(), kTemperature, /*pad_id=*/0);
  GrpoTrainer emptied_trainer(emptied, testing::grpo_test_options(), kTemperature, /*pad_id=*/0);
  Result<GrpoStepStats> stats = weighted_trainer.step(groups);
  Result<GrpoStepStats> reference_stats = emptied_trainer.step(without_terms);
  ASSERT_TRUE(stats.ok()) << stats.status().to_string();
  ASSERT_TRUE(reference_stats.ok()) << reference_stats.status().to_string();
  EXPECT_GT(stats->grad_norm, 0.0);
  // The token count (the loss's denominator) differs by the emptied completion's 3 tokens.
  EXPECT_EQ(stats->tokens, reference_stats->tokens + 3);
  EXPECT_NEAR(stats->loss * static_cast<double>(stats->tokens),
              reference_stats->loss * static_cast<double>(reference_stats->tokens), 1e-5);
}

TEST(GrpoTrainer, AStepWithNothingJudgedMakesNoUpdate) {
  model::Llama policy = testing::tiny_llama(/*seed=*/3);
  GrpoTrainer trainer(policy, testing::grpo_test_options(), kTemperature, /*pad_id=*/0);
  std::vector<RolloutGroup> groups = testing::rewarded_groups(*policy);
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
  GrpoTrainer trainer(policy, testing::grpo_test_options(), kTemperature, /*pad_id=*/0);
  const std::vector<at::Tensor> before = testing::snapshot(*policy);

  std::vector<RolloutGroup> uneven = testing::rewarded_groups(*policy);
  uneven[1].samples.pop_back();
  Result<GrpoStepStats> stats = trainer.step(uneven);
  ASSERT_EQ(stats.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(stats.status().message().find("group 1 (prompt_id 101)"), std::string::npos)
      << stats.status().message();

  std::vector<RolloutGroup> short_logprobs = testing::rewarded_groups(*policy);
  short_logprobs[0].samples[2].logprobs.clear();
  stats = trainer.step(short_logprobs);
  ASSERT_EQ(stats.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(stats.status().message().find("group 0 (prompt_id 100) sample 2"), std::string::npos)
      << stats.status().message();

  std::vector<RolloutGroup> bad_token = testing::rewarded_groups(*policy);
  bad_token[1].samples[0].tokens[0] = 259;
  stats = trainer.step(bad_token);
  ASSERT_EQ(stats.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(stats.status().message().find("group 1"), std::string::npos) << stats.status().message();

  std::vector<RolloutGroup> nan_reward = testing::rewarded_groups(*policy);
  nan_reward[1].samples[3].reward = std::nanf("");
  stats = trainer.step(nan_reward);
  ASSERT_EQ(stats.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(stats.status().message().find("group 1 (prompt_id 101) sample 3: reward nan is not finite"),
            std::string::npos)
      << stats.status().message();

  for (const float weight : {-0.5f, std::nanf("")}) {
    std::vector<RolloutGroup> bad_weight = testing::rewarded_groups(*policy);
    bad_weight[0].samples[1].weight = weight;
    stats = trainer.step(bad_weight);
    ASSERT_EQ(stats.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(stats.status().message().find("group 0 (prompt_id 100) sample 1: weight"), std::string::npos)
        << stats.status().message();
  }

  EXPECT_EQ(trainer.step({}).status().code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(testing::same_weights(*policy, before));
}

TEST(GrpoTrainer, AcceptsEmptyCompletions) {
  model::Llama policy = testing::tiny_llama(/*seed=*/3);
  GrpoTrainer trainer(policy, testing::grpo_test_options(), kTemperature, /*pad_id=*/0);
  RolloutGroup group{.prompt_id = 1, .prompt_tokens = {5, 6}};
  group.samples.push_back({.reward = 1.0f});
  group.samples.push_back({.tokens = {7}, .logprobs = testing::completion_logprobs(*policy, {5, 6}, {7}, kTemperature)});
  Result<GrpoStepStats> stats = trainer.step({group});
  ASSERT_TRUE(stats.ok()) << stats.status().to_string();
  EXPECT_EQ(stats->tokens, 1);
}

} // namespace
} // namespace caravan::learner
