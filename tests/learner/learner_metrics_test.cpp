#include "learner/learner_metrics.h"

#include <gtest/gtest.h>

#include <cmath>

namespace caravan::learner {
namespace {

RolloutSample sample(std::vector<float> logprobs, bool judged = true, float weight = 1.0f) {
  RolloutSample s;
  s.tokens.assign(logprobs.size(), 7);
  s.logprobs = std::move(logprobs);
  s.judged = judged;
  s.weight = weight;
  return s;
}

TEST(LearnerMetricsTest, MaskedFractionAndEntropyEstimateComeFromTheBatch) {
  std::vector<RolloutGroup> groups(2);
  groups[0].samples = {sample({-1.0f, -3.0f}), sample({-9.0f, -9.0f, -9.0f}, /*judged=*/false)};
  groups[1].samples = {sample({-2.0f}), sample({-5.0f, -5.0f}, /*judged=*/true, /*weight=*/0.0f)};
  const BatchTokenStats stats = batch_token_stats(groups);
  // 5 of 8 completion tokens get no gradient; the trained ones have -logprob 1, 3, 2.
  EXPECT_DOUBLE_EQ(stats.masked_fraction, 5.0 / 8.0);
  EXPECT_DOUBLE_EQ(stats.entropy_estimate, 2.0);
  EXPECT_DOUBLE_EQ(batch_token_stats({}).masked_fraction, 0.0);
  EXPECT_DOUBLE_EQ(batch_token_stats({}).entropy_estimate, 0.0);
}

TEST(LearnerMetricsTest, AStepAndASyncShowUpInTheRegistry) {
  metrics::Registry registry;
  LearnerMetrics metrics(registry);
  std::vector<RolloutGroup> groups(1);
  groups[0].samples = {sample({-0.5f, -1.5f})};
  GrpoStepStats stats;
  stats.loss = 0.25;
  stats.kl_mean = 0.125;
  stats.clip_fraction = 0.5;
  stats.grad_norm = 2;
  stats.tokens = 2;
  stats.seconds = 0.3;
  stats.terms = {{"policy_loss", 0.1}, {"value_loss", 0.75}, {"explained_variance", -0.5}};
  metrics.record_grpo_step(stats, groups, /*policy_version=*/4);
  metrics.weight_sync().record(/*bytes=*/1000, /*seconds=*/0.02);
  metrics.weight_sync().record_error();
  const std::string text = registry.serialize();
  for (const char* line : {"caravan_learner_steps_total 1\n", "caravan_learner_tokens_total 2\n",
                           "caravan_learner_loss 0.25\n", "caravan_learner_kl 0.125\n",
                           "caravan_learner_entropy_nats 1\n", "caravan_learner_clip_fraction 0.5\n",
                           "caravan_learner_masked_fraction 0\n", "caravan_learner_grad_norm 2\n",
                           "caravan_learner_policy_version 4\n", "caravan_learner_step_seconds_count 1\n",
                           "caravan_weight_sync_bytes_total 1000\n", "caravan_weight_sync_seconds_count 1\n",
                           "caravan_weight_sync_errors_total 1\n", "caravan_learner_value_loss 0.75\n",
                           "caravan_learner_explained_variance -0.5\n"}) {
    EXPECT_NE(text.find(line), std::string::npos) << line << " missing in\n" << text;
  }
}

}  // namespace
} // namespace caravan::learner
