#include "actors/rollout/rollout_metrics.h"

#include <gtest/gtest.h>

namespace caravan {
namespace {

bool has_line(const std::string& text, const std::string& line) { return text.find(line + "\n") != std::string::npos; }

TEST(RolloutMetricsTest, CompletionsKvUseQueueAndVersion) {
  metrics::Registry registry;
  rollout::RolloutMetrics metrics(registry);
  metrics.record_completion(/*tokens=*/5, /*truncated=*/false);
  metrics.record_completion(/*tokens=*/8, /*truncated=*/true);
  metrics.record_busy(0.5);
  metrics.set_queue_depth(3);
  metrics.set_kv_cache(100, 400);
  metrics.set_policy_version(9);
  const std::string text = registry.serialize();
  EXPECT_TRUE(has_line(text, "caravan_rollout_tokens_generated_total 13")) << text;
  EXPECT_TRUE(has_line(text, "caravan_rollout_completions_total{finish_reason=\"stop\"} 1")) << text;
  EXPECT_TRUE(has_line(text, "caravan_rollout_completions_total{finish_reason=\"length\"} 1")) << text;
  EXPECT_TRUE(has_line(text, "caravan_rollout_response_length_tokens_bucket{le=\"4\"} 0")) << text;
  EXPECT_TRUE(has_line(text, "caravan_rollout_response_length_tokens_bucket{le=\"8\"} 2")) << text;
  EXPECT_TRUE(has_line(text, "caravan_rollout_busy_seconds_total 0.5")) << text;
  EXPECT_TRUE(has_line(text, "caravan_rollout_queue_depth 3")) << text;
  EXPECT_TRUE(has_line(text, "caravan_rollout_kv_cache_used_bytes 100")) << text;
  EXPECT_TRUE(has_line(text, "caravan_rollout_kv_cache_capacity_bytes 400")) << text;
  EXPECT_TRUE(has_line(text, "caravan_rollout_policy_version 9")) << text;
}

TEST(RolloutMetricsTest, KvBytesPerPositionCountsKeysAndValuesOfEveryLayer) {
  core::TransformerConfig config;
  config.num_layers = 4;
  config.num_heads = 4;
  config.num_kv_heads = 2;
  config.hidden_size = 128;  // head_dim 32
  EXPECT_EQ(rollout::kv_bytes_per_position(config, /*element_bytes=*/4), 2 * 4 * 2 * 32 * 4);
}

}  // namespace
} // namespace caravan
