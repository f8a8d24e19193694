#include "learner/sft_trainer.h"

#include <gtest/gtest.h>

#include "tests/learner/trainer_test_util.h"

namespace caravan::learner {
namespace {

learner::SftOptions test_options() {
  learner::SftOptions options;
  options.learning_rate = 1e-2;
  options.warmup_steps = 4;
  return options;
}

TEST(SftTrainer, LossDecreasesOnAFixedBatch) {
  model::Llama policy = testing::tiny_llama(/*seed=*/0);
  SftTrainer trainer(policy, test_options(), /*pad_id=*/0);
  const std::vector<SftExample> batch = {
      {.prompt = {1, 49, 43, 50, 61}, .target = {51, 2}},
      {.prompt = {1, 52, 43, 53, 61}, .target = {56, 57, 2}},
      {.prompt = {1, 50, 45, 49, 61}, .target = {49, 2}},
  };
  Result<SftStepStats> first = trainer.step(batch);
  ASSERT_TRUE(first.ok()) << first.status().to_string();
  EXPECT_EQ(first->tokens, 7);
  // Near-uniform initial predictions over 259 ids cost about log(259) = 5.56 nats.
  EXPECT_NEAR(first->loss, 5.56, 0.3);
  SftStepStats last = *first;
  for (int i = 0; i < 30; ++i) {
    Result<SftStepStats> stats = trainer.step(batch);
    ASSERT_TRUE(stats.ok());
    last = *stats;
  }
  EXPECT_LT(last.loss, 0.5 * first->loss);
  EXPECT_EQ(trainer.steps_done(), 31);
}

TEST(SftTrainer, WarmsUpTheLearningRateLinearly) {
  model::Llama policy = testing::tiny_llama(/*seed=*/1);
  SftTrainer trainer(policy, test_options(), /*pad_id=*/0);
  const std::vector<SftExample> batch = {{.prompt = {1, 2}, .target = {3}}};
  const double expected[] = {2.5e-3, 5e-3, 7.5e-3, 1e-2, 1e-2};
  for (double lr : expected) {
    Result<SftStepStats> stats = trainer.step(batch);
    ASSERT_TRUE(stats.ok());
    EXPECT_DOUBLE_EQ(stats->learning_rate, lr);
    EXPECT_DOUBLE_EQ(trainer.optimizer().param_groups().front().options().get_lr(), lr);
  }
  learner::SftOptions no_warmup = test_options();
  no_warmup.warmup_steps = 0;
  EXPECT_DOUBLE_EQ(SftTrainer(testing::tiny_llama(2), no_warmup, 0).learning_rate_at(0), 1e-2);
}

TEST(SftTrainer, RejectsBadExamplesNamingThem) {
  model::Llama policy = testing::tiny_llama(/*seed=*/3);
  SftTrainer trainer(policy, test_options(), /*pad_id=*/0);
  const std::vector<at::Tensor> before = testing::snapshot(*policy);
  Result<SftStepStats> stats = trainer.step({{.prompt = {1}, .target = {2}}, {.prompt = {}, .target = {2}}});
  ASSERT_EQ(stats.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(stats.status().message().find("example 1"), std::string::npos) << stats.status().message();
  // 40 tokens do not fit in max_position_embeddings = 32.
  stats = trainer.step({{.prompt = std::vector<int32_t>(30, 5), .target = std::vector<int32_t>(10, 6)}});
  ASSERT_EQ(stats.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(stats.status().message().find("max_position_embeddings"), std::string::npos);
  EXPECT_TRUE(testing::same_weights(*policy, before));
  EXPECT_EQ(trainer.steps_done(), 0);
}

const std::vector<SftExample> kBatch = {
    {.prompt = {1, 49, 43, 50, 61}, .target = {51, 2}},
    {.prompt = {1, 52, 43, 53, 61}, .target = {56, 57, 2}},
};

// One step from the same seed with `options`: its stats and the weights after it.
std::pair<SftStepStats, std::vector<at::Tensor>> one_step(const learner::SftOptions& options) {
  model::Llama policy = testing::tiny_llama(/*seed=*/4);
  SftTrainer trainer(policy, options, /*pad_id=*/0);
  Result<SftStepStats> stats = trainer.step(kBatch);
  EXPECT_TRUE(stats.ok()) << stats.status().to_string();
  for (const at::Tensor& p : policy->parameters()) {
    EXPECT_EQ(p.scalar_type(), at::kFloat);
    EXPECT_EQ(p.grad().scalar_type(), at::kFloat);
  }
  return {stats.ok() ? *stats : SftStepStats{}, testing::snapshot(*policy)};
}

// Gradient checkpointing changes memory, not the step.
TEST(SftTrainer, GradientCheckpointingGivesTheSameStep) {
  learner::SftOptions checkpointed = test_options();
  checkpointed.gradient_checkpointing = true;
  const auto [plain, plain_weights] = one_step(test_options());
  const auto [rerun, rerun_weights] = one_step(checkpointed);
  EXPECT_NEAR(rerun.loss, plain.loss, 1e-6);
  EXPECT_NEAR(rerun.grad_norm, plain.grad_norm, 1e-5 * plain.grad_norm);
  for (size_t i = 0; i < plain_weights.size(); ++i) {
    EXPECT_TRUE(at::allclose(rerun_weights[i], plain_weights[i], 1e-5, 1e-6)) << "parameter " << i;
  }
}

// Under bf16 autocast the forward rounds through bfloat16 (the loss moves by bf16 rounding, not
// more) while parameters, gradients and the update stay float32.
TEST(SftTrainer, Bf16AutocastComputesInBfloat16OnFloat32Weights) {
  learner::SftOptions autocast = test_options();
  autocast.bf16_autocast = true;
  const auto [plain, plain_weights] = one_step(test_options());
  const auto [bf16, bf16_weights] = one_step(autocast);
  EXPECT_NE(bf16.loss, plain.loss);
  EXPECT_NEAR(bf16.loss, plain.loss, 0.05);
  EXPECT_FALSE(at::equal(bf16_weights.back(), plain_weights.back()));
}

} // namespace
} // namespace caravan::learner
