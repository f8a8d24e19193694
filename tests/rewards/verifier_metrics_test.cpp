#include "rewards/verifier_metrics.h"

#include <gtest/gtest.h>

namespace caravan::rewards {
namespace {

bool has_line(const std::string& text, const std::string& line) { return text.find(line + "\n") != std::string::npos; }

TEST(VerifierMetricsTest, RewardConfigInfoFollowsTheVersionInForce) {
  metrics::Registry registry;
  VerifierMetrics metrics(registry);
  std::string text = registry.serialize();
  EXPECT_TRUE(has_line(text, "caravan_reward_config_info{version=\"none\"} 1")) << text;
  EXPECT_TRUE(has_line(text, "caravan_reward_config_loads_total 0")) << text;
  metrics.set_reward_config("0123456789ab");
  metrics.set_reward_config("ba9876543210");
  text = registry.serialize();
  EXPECT_TRUE(has_line(text, "caravan_reward_config_info{version=\"none\"} 0")) << text;
  EXPECT_TRUE(has_line(text, "caravan_reward_config_info{version=\"0123456789ab\"} 0")) << text;
  EXPECT_TRUE(has_line(text, "caravan_reward_config_info{version=\"ba9876543210\"} 1")) << text;
  EXPECT_TRUE(has_line(text, "caravan_reward_config_loads_total 2")) << text;
}

TEST(VerifierMetricsTest, VerdictsCountByStatusWithTimeoutsAndKillsApart) {
  metrics::Registry registry;
  VerifierMetrics metrics(registry);
  metrics.record("code", VerdictStatus::kOk, 0.2);
  metrics.record("code", VerdictStatus::kTimeout, 5);
  metrics.record("code", VerdictStatus::kSandboxViolation, 0.1);
  const std::string text = registry.serialize();
  EXPECT_TRUE(has_line(text, "caravan_verifier_requests_total{status=\"ok\",verifier=\"code\"} 1")) << text;
  EXPECT_TRUE(has_line(text, "caravan_verifier_requests_total{status=\"wrong\",verifier=\"code\"} 0")) << text;
  EXPECT_TRUE(has_line(text, "caravan_verifier_timeouts_total{verifier=\"code\"} 1")) << text;
  EXPECT_TRUE(has_line(text, "caravan_verifier_sandbox_kills_total{verifier=\"code\"} 1")) << text;
  EXPECT_TRUE(has_line(text, "caravan_verifier_latency_seconds_count{verifier=\"code\"} 3")) << text;
}

}  // namespace
} // namespace caravan::rewards
