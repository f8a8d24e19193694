#include "learner/grpo_trainer.h"

#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <utility>
#include <vector>

#include "tests/learner/trainer_test_util.h"

namespace caravan::learner {
namespace {

using testing::kTemperature;

TEST(GrpoTrainer, RaisesTheLogprobOfRewardedCompletions) {
  model::Llama policy = testing::tiny_llama(/*seed=*/0);
  GrpoTrainer trainer(policy, testing::grpo_test_options(), testing::rollout_test_options(), /*pad_id=*/0);
  const double rewarded_before = testing::mean_logprob(*policy, {10, 11, 12}, {60, 61, 62}, kTemperature);
  const double unrewarded_before = testing::mean_logprob(*policy, {10, 11, 12}, {50, 51}, kTemperature);

  Result<GrpoStepStats> first = trainer.step(testing::rewarded_groups(*policy), /*policy_version=*/0);
  ASSERT_TRUE(first.ok()) << first.status().to_string();
  // The policy equals the reference and the rollout policy before the first update.
  EXPECT_NEAR(first->kl_mean, 0.0, 1e-6);
  EXPECT_EQ(first->clip_fraction, 0.0);
  EXPECT_DOUBLE_EQ(first->reward_mean, 0.25);
  EXPECT_EQ(first->tokens, 2 * (2 + 3 + 1 + 2));
  EXPECT_GT(first->grad_norm, 0.0);
  GrpoStepStats last = *first;
  for (int i = 0; i < 5; ++i) {
    Result<GrpoStepStats> stats = trainer.step(testing::rewarded_groups(*policy), /*policy_version=*/0);
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
  learner::GrpoOptions options = testing::grpo_test_options();
  options.kl.coef = 0.0;
  GrpoTrainer trainer(policy, options, testing::rollout_test_options(), /*pad_id=*/0);
  std::vector<RolloutGroup> groups = testing::rewarded_groups(*policy);
  for (RolloutGroup& group : groups) {
    for (RolloutSample& sample : group.samples) sample.reward = 1.0f;
  }
  Result<GrpoStepStats> stats = trainer.step(groups, /*policy_version=*/0);
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
  GrpoTrainer trainer(with_unjudged, testing::grpo_test_options(), testing::rollout_test_options(), /*pad_id=*/0);
  learner::GrpoOptions reduced_options = testing::grpo_test_options();
  reduced_options.group_size = 3;
  GrpoTrainer reference_trainer(without, reduced_options, testing::rollout_test_options(), /*pad_id=*/0);

  Result<GrpoStepStats> stats = trainer.step(groups, /*policy_version=*/0);
  Result<GrpoStepStats> reference_stats = reference_trainer.step(reduced, /*policy_version=*/0);
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
  GrpoTrainer weighted_trainer(weighted, testing::grpo_test_options(), testing::rollout_test_options(), /*pad_id=*/0);
  GrpoTrainer emptied_trainer(emptied, testing::grpo_test_options(), testing::rollout_test_options(), /*pad_id=*/0);
  Result<GrpoStepStats> stats = weighted_trainer.step(groups, /*policy_version=*/0);
  Result<GrpoStepStats> reference_stats = emptied_trainer.step(without_terms, /*policy_version=*/0);
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
  GrpoTrainer trainer(policy, testing::grpo_test_options(), testing::rollout_test_options(), /*pad_id=*/0);
  std::vector<RolloutGroup> groups = testing::rewarded_groups(*policy);
  for (RolloutGroup& group : groups) {
    for (RolloutSample& sample : group.samples) sample.judged = false;
  }
  const at::Tensor before = policy->parameters().front().clone();
  Result<GrpoStepStats> stats = trainer.step(groups, /*policy_version=*/0);
  ASSERT_TRUE(stats.ok()) << stats.status().to_string();
  EXPECT_EQ(stats->judged_fraction, 0.0);
  EXPECT_EQ(stats->tokens, 0);
  EXPECT_TRUE(at::equal(before, policy->parameters().front()));
}

TEST(GrpoTrainer, RejectsBadInputNamingTheGroupWithoutTouchingWeights) {
  model::Llama policy = testing::tiny_llama(/*seed=*/2);
  GrpoTrainer trainer(policy, testing::grpo_test_options(), testing::rollout_test_options(), /*pad_id=*/0);
  const std::vector<at::Tensor> before = testing::snapshot(*policy);

  std::vector<RolloutGroup> uneven = testing::rewarded_groups(*policy);
  uneven[1].samples.pop_back();
  Result<GrpoStepStats> stats = trainer.step(uneven, /*policy_version=*/0);
  ASSERT_EQ(stats.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(stats.status().message().find("group 1 (prompt_id 101)"), std::string::npos)
      << stats.status().message();

  std::vector<RolloutGroup> short_logprobs = testing::rewarded_groups(*policy);
  short_logprobs[0].samples[2].logprobs.clear();
  stats = trainer.step(short_logprobs, /*policy_version=*/0);
  ASSERT_EQ(stats.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(stats.status().message().find("group 0 (prompt_id 100) sample 2"), std::string::npos)
      << stats.status().message();

  std::vector<RolloutGroup> bad_token = testing::rewarded_groups(*policy);
  bad_token[1].samples[0].tokens[0] = 259;
  stats = trainer.step(bad_token, /*policy_version=*/0);
  ASSERT_EQ(stats.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(stats.status().message().find("group 1"), std::string::npos) << stats.status().message();

  std::vector<RolloutGroup> nan_reward = testing::rewarded_groups(*policy);
  nan_reward[1].samples[3].reward = std::nanf("");
  stats = trainer.step(nan_reward, /*policy_version=*/0);
  ASSERT_EQ(stats.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(stats.status().message().find("group 1 (prompt_id 101) sample 3: reward nan is not finite"),
            std::string::npos)
      << stats.status().message();

  for (const float weight : {-0.5f, std::nanf("")}) {
    std::vector<RolloutGroup> bad_weight = testing::rewarded_groups(*policy);
    bad_weight[0].samples[1].weight = weight;
    stats = trainer.step(bad_weight, /*policy_version=*/0);
    ASSERT_EQ(stats.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(stats.status().message().find("group 0 (prompt_id 100) sample 1: weight"), std::string::npos)
        << stats.status().message();
  }

  EXPECT_EQ(trainer.step({}, /*policy_version=*/0).status().code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(testing::same_weights(*policy, before));
}

TEST(GrpoTrainer, AcceptsEmptyCompletions) {
  model::Llama policy = testing::tiny_llama(/*seed=*/3);
  GrpoTrainer trainer(policy, testing::grpo_test_options(), testing::rollout_test_options(), /*pad_id=*/0);
  RolloutGroup group{.prompt_id = 1, .prompt_tokens = {5, 6}};
  group.samples.push_back({.reward = 1.0f});
  group.samples.push_back({.tokens = {7}, .logprobs = testing::completion_logprobs(*policy, {5, 6}, {7}, kTemperature)});
  Result<GrpoStepStats> stats = trainer.step({group}, /*policy_version=*/0);
  ASSERT_TRUE(stats.ok()) << stats.status().to_string();
  EXPECT_EQ(stats->tokens, 1);
}

// The value of the named term of a step, or NaN when the step did not report it.
double term(const GrpoStepStats& stats, const std::string& name) {
  for (const auto& [key, value] : stats.terms) {
    if (key == name) return value;
  }
  return std::nan("");
}

struct AlgorithmCase {
  const char* name;
  void (*configure)(learner::GrpoOptions&);
  // Terms this choice adds beyond those every step reports.
  std::vector<std::string> extra_terms;
};

// Every estimator, loss, aggregation, KL placement/estimator/control and correction trains the
// tiny policy towards its rewarded completions.
TEST(GrpoTrainer, EveryAlgorithmChoiceRaisesTheRewardedCompletion) {
  const AlgorithmCase cases[] = {
      {"dr_grpo + constant", [](learner::GrpoOptions& o) {
         o.advantage.estimator = learner::AdvantageEstimator::kDrGrpo;
         o.loss.aggregation = learner::LossAggregation::kConstantDenominator;
       }, {}},
      {"rloo + seq_mean_token_mean", [](learner::GrpoOptions& o) {
         o.advantage.estimator = learner::AdvantageEstimator::kRloo;
         o.loss.aggregation = learner::LossAggregation::kSequenceMeanTokenMean;
       }, {}},
      {"reinforce_pp + k1 in the reward", [](learner::GrpoOptions& o) {
         o.advantage.estimator = learner::AdvantageEstimator::kReinforcePlusPlus;
         o.kl = {.estimator = learner::KlEstimator::kK1, .placement = learner::KlPlacement::kReward, .coef = 0.05};
       }, {}},
      {"reinforce_pp + group baseline + k2", [](learner::GrpoOptions& o) {
         o.advantage = {.estimator = learner::AdvantageEstimator::kReinforcePlusPlus, .group_baseline = true};
         o.kl.estimator = learner::KlEstimator::kK2;
       }, {}},
      {"gspo", [](learner::GrpoOptions& o) {
         o.loss = {.kind = learner::PolicyLossKind::kGspo, .clip_low = 3e-4, .clip_high = 4e-4,
                   .aggregation = learner::LossAggregation::kSequenceMeanTokenMean};
       }, {}},
      {"cispo", [](learner::GrpoOptions& o) {
         o.loss = {.kind = learner::PolicyLossKind::kCispo, .clip_low = 1.0, .clip_high = 4.0};
       }, {}},
      {"ppo dual clip + entropy + adaptive kl + cosine", [](learner::GrpoOptions& o) {
         o.loss.dual_clip = 3.0;
         o.loss.entropy_coef = 0.01;
         o.kl.target = 0.01;
         o.steps = 6;
         o.schedule = {.kind = learner::LrScheduleKind::kCosine, .warmup_steps = 1, .min_lr_ratio = 0.5};
       }, {"dual_clip_fraction"}},
      {"tis + icepop", [](learner::GrpoOptions& o) {
         o.correction = {.tis_cap = 2.0, .mask_low = 0.5, .mask_high = 2.0};
       }, {"tis_truncated_fraction", "masked_fraction"}},
      {"bf16 autocast + gradient checkpointing", [](learner::GrpoOptions& o) {
         o.bf16_autocast = true;
         o.gradient_checkpointing = true;
       }, {}},
  };
  for (const AlgorithmCase& c : cases) {
    SCOPED_TRACE(c.name);
    model::Llama policy = testing::tiny_llama(/*seed=*/0);
    learner::GrpoOptions options = testing::grpo_test_options();
    c.configure(options);
    GrpoTrainer trainer(policy, options, testing::rollout_test_options(), /*pad_id=*/0);
    const double rewarded_before = testing::mean_logprob(*policy, {10, 11, 12}, {60, 61, 62}, kTemperature);
    const double unrewarded_before = testing::mean_logprob(*policy, {10, 11, 12}, {50, 51}, kTemperature);
    GrpoStepStats stats;
    for (uint64_t version = 0; version < 6; ++version) {
      Result<GrpoStepStats> step = trainer.step(testing::rewarded_groups(*policy), version);
      ASSERT_TRUE(step.ok()) << step.status().to_string();
      stats = *step;
      ASSERT_TRUE(std::isfinite(stats.loss));
    }
    EXPECT_GT(testing::mean_logprob(*policy, {10, 11, 12}, {60, 61, 62}, kTemperature), rewarded_before + 0.05);
    EXPECT_LT(testing::mean_logprob(*policy, {10, 11, 12}, {50, 51}, kTemperature), unrewarded_before);
    std::vector<std::string> expected = {"policy_loss", "entropy", "kl_coef", "clip_low_fraction", "clip_high_fraction"};
    expected.insert(expected.end(), c.extra_terms.begin(), c.extra_terms.end());
    for (const char* always : {"logprob_diff_max", "logprob_diff_mean", "logprob_tokens", "learning_rate"}) {
      expected.emplace_back(always);
    }
    ASSERT_EQ(stats.terms.size(), expected.size());
    for (size_t i = 0; i < expected.size(); ++i) EXPECT_EQ(stats.terms[i].first, expected[i]);
    EXPECT_GT(term(stats, "entropy"), 0.0);
  }
}

// The rollout engine's logprobs against the learner's recomputation, on the tokens of the
// current policy version only: samples of an older version differ for another reason.
TEST(GrpoTrainer, LogprobMismatchCountsOnlyTheCurrentPolicyVersion) {
  model::Llama policy = testing::tiny_llama(/*seed=*/5);
  GrpoTrainer trainer(policy, testing::grpo_test_options(), testing::rollout_test_options(), /*pad_id=*/0);
  std::vector<RolloutGroup> groups = testing::rewarded_groups(*policy);
  for (RolloutSample& sample : groups[0].samples) sample.policy_version = 7;
  for (RolloutSample& sample : groups[1].samples) sample.policy_version = 6;
  groups[0].samples[1].logprobs[1] -= 0.25f;  // counted: version 7 is current
  groups[1].samples[0].logprobs[0] += 0.5f;   // not counted: version 6 is stale
  Result<GrpoStepStats> stats = trainer.step(groups, /*policy_version=*/7);
  ASSERT_TRUE(stats.ok()) << stats.status().to_string();
  // Group 0's completions have 2 + 3 + 1 + 2 tokens; the others agree to float rounding.
  EXPECT_EQ(term(*stats, "logprob_tokens"), 8.0);
  EXPECT_NEAR(term(*stats, "logprob_diff_max"), 0.25, 1e-4);
  EXPECT_NEAR(term(*stats, "logprob_diff_mean"), 0.25 / 8, 1e-4);
}

// One token's rollout logprob is 1 nat below the learner's: its ratio e = 2.718 is truncated at 2
// by TIS and lies outside IcePop's [0.5, 2.5].
TEST(GrpoTrainer, CorrectionsReportTheFractionOfTokensTheyTouched) {
  model::Llama policy = testing::tiny_llama(/*seed=*/6);
  learner::GrpoOptions options = testing::grpo_test_options();
  options.correction = {.tis_cap = 2.0, .mask_low = 0.5, .mask_high = 2.5};
  GrpoTrainer trainer(policy, options, testing::rollout_test_options(), /*pad_id=*/0);
  std::vector<RolloutGroup> groups = testing::rewarded_groups(*policy);
  groups[1].samples[2].logprobs[0] -= 1.0f;
  Result<GrpoStepStats> stats = trainer.step(groups, /*policy_version=*/0);
  ASSERT_TRUE(stats.ok()) << stats.status().to_string();
  // 16 completion tokens in all.
  EXPECT_EQ(stats->tokens, 16);
  EXPECT_DOUBLE_EQ(term(*stats, "tis_truncated_fraction"), 1.0 / 16);
  EXPECT_DOUBLE_EQ(term(*stats, "masked_fraction"), 1.0 / 16);
}

// warmup 2 then linear decay to 0 over steps 2..4: multipliers 0.5, 1, 1, 0.5.
TEST(GrpoTrainer, TheScheduleSetsEachStepsLearningRate) {
  model::Llama policy = testing::tiny_llama(/*seed=*/7);
  learner::GrpoOptions options = testing::grpo_test_options();
  options.steps = 4;
  options.schedule = {.kind = learner::LrScheduleKind::kLinear, .warmup_steps = 2, .min_lr_ratio = 0.0};
  GrpoTrainer trainer(policy, options, testing::rollout_test_options(), /*pad_id=*/0);
  for (const double multiplier : {0.5, 1.0, 1.0, 0.5}) {
    Result<GrpoStepStats> stats = trainer.step(testing::rewarded_groups(*policy), /*policy_version=*/0);
    ASSERT_TRUE(stats.ok()) << stats.status().to_string();
    EXPECT_DOUBLE_EQ(term(*stats, "learning_rate"), multiplier * options.learning_rate);
  }
  EXPECT_EQ(trainer.state().steps_done, 4);
}

// kl_coef = 0: no KL term anywhere, so no reference copy of the policy (nor its forward pass);
// the step trains as before and reports a KL of 0, with the penalty in the loss or in the reward.
TEST(GrpoTrainer, NoKlPenaltyKeepsNoReferenceModel) {
  for (const KlPlacement placement : kAllKlPlacements) {
    SCOPED_TRACE(enum_name(placement));
    model::Llama policy = testing::tiny_llama(/*seed=*/10);
    const std::vector<at::Tensor> before = testing::snapshot(*policy);
    learner::GrpoOptions options = testing::grpo_test_options();
    options.kl.coef = 0;
    options.kl.placement = placement;
    GrpoTrainer trainer(policy, options, testing::rollout_test_options(), /*pad_id=*/0);
    EXPECT_EQ(trainer.reference(), nullptr);
    Result<GrpoStepStats> stats = trainer.step(testing::rewarded_groups(*policy), /*policy_version=*/0);
    ASSERT_TRUE(stats.ok()) << stats.status().to_string();
    EXPECT_EQ(stats->kl_mean, 0.0);
    EXPECT_GT(stats->grad_norm, 0.0);
    EXPECT_FALSE(testing::same_weights(*policy, before));
  }
}

// Gradient checkpointing changes memory, not the update.
TEST(GrpoTrainer, GradientCheckpointingGivesTheSameStep) {
  const auto step_with = [](bool checkpointing) {
    model::Llama policy = testing::tiny_llama(/*seed=*/8);
    learner::GrpoOptions options = testing::grpo_test_options();
    options.gradient_checkpointing = checkpointing;
    GrpoTrainer trainer(policy, options, testing::rollout_test_options(), /*pad_id=*/0);
    Result<GrpoStepStats> stats = trainer.step(testing::rewarded_groups(*policy), /*policy_version=*/0);
    EXPECT_TRUE(stats.ok()) << stats.status().to_string();
    return std::make_pair(*stats, testing::snapshot(*policy));
  };
  const auto [plain, plain_weights] = step_with(false);
  const auto [checkpointed, checkpointed_weights] = step_with(true);
  EXPECT_NEAR(checkpointed.loss, plain.loss, 1e-6);
  EXPECT_NEAR(checkpointed.grad_norm, plain.grad_norm, 1e-5 * plain.grad_norm);
  for (size_t i = 0; i < plain_weights.size(); ++i) {
    EXPECT_TRUE(at::allclose(checkpointed_weights[i], plain_weights[i], 1e-5, 1e-6)) << "parameter " << i;
  }
}

// Under bf16 autocast the learner's forward runs in bfloat16 (its logprobs move away from the
// float32 rollout's by bf16 rounding) while the parameters stay float32 master weights.
TEST(GrpoTrainer, Bf16AutocastComputesInBfloat16OnFloat32Weights) {
  model::Llama policy = testing::tiny_llama(/*seed=*/9);
  learner::GrpoOptions options = testing::grpo_test_options();
  options.bf16_autocast = true;
  GrpoTrainer trainer(policy, options, testing::rollout_test_options(), /*pad_id=*/0);
  Result<GrpoStepStats> stats = trainer.step(testing::rewarded_groups(*policy), /*policy_version=*/0);
  ASSERT_TRUE(stats.ok()) << stats.status().to_string();
  EXPECT_GT(term(*stats, "logprob_diff_max"), 1e-4);
  EXPECT_LT(term(*stats, "logprob_diff_max"), 0.2);
  for (const at::Tensor& p : policy->parameters()) {
    EXPECT_EQ(p.scalar_type(), at::kFloat);
    EXPECT_EQ(p.grad().scalar_type(), at::kFloat);
  }
}

} // namespace
} // namespace caravan::learner
