#include "actors/controller/controller_metrics.h"

#include <gtest/gtest.h>

namespace caravan {
namespace {

bool has_line(const std::string& text, const std::string& line) { return text.find(line + "\n") != std::string::npos; }

TEST(ControllerMetricsTest, TrainedSamplesByVerifierSourceAndStatus) {
  metrics::Registry registry;
  controller::ControllerMetrics metrics(registry, /*steps_planned=*/50);
  const core::TaskPrompt prompt{.verifier = "math", .source = "gsm8k"};
  controller::LedgerSample judged;
  judged.reward = {.score = 1.0f, .status = proto::RewardStatus::OK, .trainable = true, .record = {}};
  controller::LedgerSample timed_out;
  timed_out.reward = {.score = 0.0f, .status = proto::RewardStatus::TIMEOUT, .trainable = false, .record = {}};
  metrics.observe_trained_sample(prompt, judged);
  metrics.observe_trained_sample(prompt, timed_out);
  metrics.record_step(/*reward_mean=*/1.0, /*accuracy=*/0.5, /*seconds=*/2.0);
  metrics.set_worker_up("rollout-0", true);
  const std::string text = registry.serialize();
  EXPECT_TRUE(has_line(text, "caravan_steps_planned 50")) << text;
  EXPECT_TRUE(has_line(text, "caravan_trained_samples_total{source=\"gsm8k\",status=\"ok\",verifier=\"math\"} 1"))
      << text;
  EXPECT_TRUE(has_line(text, "caravan_trained_samples_total{source=\"gsm8k\",status=\"timeout\",verifier=\"math\"} 1"))
      << text;
  // Statuses not seen yet exist at 0; only unjudged samples count as unjudged.
  EXPECT_TRUE(has_line(text, "caravan_trained_samples_total{source=\"gsm8k\",status=\"wrong\",verifier=\"math\"} 0"))
      << text;
  EXPECT_TRUE(has_line(text, "caravan_unjudged_samples_total{source=\"gsm8k\",status=\"ok\",verifier=\"math\"} 0"))
      << text;
  EXPECT_TRUE(has_line(text, "caravan_unjudged_samples_total{source=\"gsm8k\",status=\"timeout\",verifier=\"math\"} 1"))
      << text;
  // Only the judged sample's reward is in the distribution.
  EXPECT_TRUE(has_line(text, "caravan_sample_reward_count{source=\"gsm8k\",verifier=\"math\"} 1")) << text;
  EXPECT_TRUE(has_line(text, "caravan_sample_reward_sum{source=\"gsm8k\",verifier=\"math\"} 1")) << text;
  EXPECT_TRUE(has_line(text, "caravan_step_reward_mean 1")) << text;
  EXPECT_TRUE(has_line(text, "caravan_step_accuracy 0.5")) << text;
  EXPECT_TRUE(has_line(text, "caravan_step_seconds_count 1")) << text;
  EXPECT_TRUE(has_line(text, "caravan_worker_up{worker=\"rollout-0\"} 1")) << text;
}

}  // namespace
} // namespace caravan
