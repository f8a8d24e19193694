#include "learner/dpo_trainer.h"

#include <gtest/gtest.h>

#include "tests/learner/trainer_test_util.h"

namespace caravan::learner {
namespace {

// prompt [1, 2, 3] + response, only the response trained.
TrainingSequence response_to_prompt(std::vector<int32_t> response) {
  TrainingSequence sequence{.ids = {1, 2, 3}, .loss_mask = {0, 0, 0}};
  sequence.ids.insert(sequence.ids.end(), response.begin(), response.end());
  sequence.loss_mask.resize(sequence.ids.size(), 1);
  return sequence;
}

std::vector<PreferencePair> pairs() {
  return {{.chosen = response_to_prompt({40, 41}), .rejected = response_to_prompt({50, 51, 52})},
          {.chosen = response_to_prompt({60}), .rejected = response_to_prompt({70, 71})}};
}

learner::DpoOptions options(const std::string& loss) {
  learner::DpoOptions dpo;
  dpo.learning_rate = 1e-3;
  dpo.beta = 0.5;
  dpo.loss = loss;
  return dpo;
}

TEST(DpoTrainerTest, StartsAtZeroMarginAndRaisesIt) {
  for (const std::string loss : {"dpo", "dpo_norm"}) {
    SCOPED_TRACE(loss);
    DpoTrainer trainer(testing::tiny_llama(/*seed=*/1), options(loss), /*pad_id=*/0);
    const DpoMetrics before = trainer.evaluate(pairs(), /*batch_size=*/1).value();
    // The reference is the policy: every log-ratio is 0, the loss log 2, no pair preferred.
    EXPECT_NEAR(before.margin, 0.0, 1e-6);
    EXPECT_NEAR(before.loss, std::log(2.0), 1e-5);
    EXPECT_EQ(before.accuracy, 0.0);
    EXPECT_EQ(before.pairs, 2);
    for (int step = 0; step < 10; ++step) {
      Result<DpoStepStats> stats = trainer.step(pairs());
      ASSERT_TRUE(stats.ok()) << stats.status().to_string();
      EXPECT_EQ(stats->tokens, 2 + 3 + 1 + 2);
      EXPECT_GT(stats->grad_norm, 0.0);
    }
    const DpoMetrics after = trainer.evaluate(pairs(), /*batch_size=*/2).value();
    EXPECT_GT(after.margin, 0.1);
    EXPECT_EQ(after.accuracy, 1.0);
    EXPECT_LT(after.loss, before.loss);
    EXPECT_GT(after.chosen_reward, after.rejected_reward);
    EXPECT_EQ(trainer.steps_done(), 10);
  }
}

TEST(DpoTrainerTest, EvaluationDoesNotDependOnBatchSize) {
  DpoTrainer trainer(testing::tiny_llama(/*seed=*/2), options("dpo"), /*pad_id=*/0);
  ASSERT_TRUE(trainer.step(pairs()).ok());
  const DpoMetrics one = trainer.evaluate(pairs(), 1).value();
  const DpoMetrics both = trainer.evaluate(pairs(), 2).value();
  EXPECT_NEAR(one.margin, both.margin, 1e-5);
  EXPECT_NEAR(one.loss, both.loss, 1e-5);
}

TEST(DpoTrainerTest, BadPairIsRejectedNamingItAndWeightsStay) {
  DpoTrainer trainer(testing::tiny_llama(/*seed=*/3), options("dpo_norm"), /*pad_id=*/0);
  const at::Tensor before = trainer.policy()->parameters().front().clone();
  std::vector<PreferencePair> batch = pairs();
  batch[1].rejected.ids[4] = 100000;  // outside the vocabulary
  Result<DpoStepStats> stats = trainer.step(batch);
  ASSERT_FALSE(stats.ok());
  EXPECT_EQ(stats.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(stats.status().message().find("pair 1 rejected"), std::string::npos) << stats.status().message();
  EXPECT_TRUE(at::equal(before, trainer.policy()->parameters().front()));
  batch = pairs();
  batch[0].chosen.loss_mask.assign(batch[0].chosen.ids.size(), 0);  // nothing trained
  EXPECT_FALSE(trainer.step(batch).ok());
}

// Gradient checkpointing gives the same step; bf16 autocast (policy and reference forwards)
// moves the loss by bfloat16 rounding while the weights and gradients stay float32.
TEST(DpoTrainerTest, GradientCheckpointingAndBf16AutocastKeepTheStep) {
  const auto step_with = [](bool checkpointing, bool autocast) {
    learner::DpoOptions dpo = options("dpo_norm");
    dpo.gradient_checkpointing = checkpointing;
    dpo.bf16_autocast = autocast;
    model::Llama policy = testing::tiny_llama(/*seed=*/5);
    DpoTrainer trainer(policy, dpo, /*pad_id=*/0);
    EXPECT_TRUE(trainer.step(pairs()).ok());
    Result<DpoStepStats> second = trainer.step(pairs());
    EXPECT_TRUE(second.ok()) << second.status().to_string();
    for (const at::Tensor& p : policy->parameters()) {
      EXPECT_EQ(p.scalar_type(), at::kFloat);
      EXPECT_EQ(p.grad().scalar_type(), at::kFloat);
    }
    return second.ok() ? second->metrics.loss : 0.0;
  };
  const double plain = step_with(false, false);
  EXPECT_NEAR(step_with(true, false), plain, 1e-6);
  const double bf16 = step_with(false, true);
  EXPECT_NE(bf16, plain);
  EXPECT_NEAR(bf16, plain, 0.05);
}

} // namespace
} // namespace caravan::learner
