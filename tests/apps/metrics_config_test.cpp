// The [metrics] section of the run config (apps/metrics_options.h MetricsOptions).
#include <gtest/gtest.h>

#include "apps/run_config_reader.h"

namespace caravan::apps {
namespace {

constexpr const char* kMinimal = "[run]\nname = \"t\"\n[task]\nkind = \"arithmetic\"\n[model]\nnum_layers = 2\n";

TEST(MetricsConfigTest, OffByDefault) {
  auto config = parse_run_config(kMinimal, "test.toml");
  ASSERT_TRUE(config.ok()) << config.status().to_string();
  EXPECT_EQ(config->metrics.port_base, 0);
  EXPECT_EQ(config->metrics.host, "");
}

TEST(MetricsConfigTest, ParsesAndRoundTrips) {
  auto config = parse_run_config(std::string(kMinimal) + "[metrics]\nhost = \"0.0.0.0\"\nport_base = 9400\n", "test.toml");
  ASSERT_TRUE(config.ok()) << config.status().to_string();
  EXPECT_EQ(config->metrics.host, "0.0.0.0");
  EXPECT_EQ(config->metrics.port_base, 9400);
  auto again = parse_run_config(to_toml(*config), "resolved.toml");
  ASSERT_TRUE(again.ok()) << again.status().to_string();
  EXPECT_EQ(again->metrics.port_base, 9400);
  EXPECT_EQ(again->metrics.host, "0.0.0.0");
}

TEST(MetricsConfigTest, PortOutOfRangeShowsTheRange) {
  Status status = parse_run_config(std::string(kMinimal) + "[metrics]\nport_base = 70000\n", "test.toml").status();
  EXPECT_EQ(status.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(status.message().find("test.toml: [metrics] port_base: expected 0 <= x <= 65535, got 70000"),
            std::string::npos)
      << status.message();
}

TEST(MetricsConfigTest, EveryProcessNeedsAPortBelow65536) {
  // controller + learner + 2 actors + 1 verifier + the launcher = 6 ports: 65531..65536.
  const std::string text = std::string(kMinimal) + "[rollout]\nactors = 2\n[metrics]\nport_base = 65531\n";
  Status status = parse_run_config(text, "test.toml").status();
  EXPECT_EQ(status.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(status.message().find("[metrics] port_base (65531) leaves no room for 6 processes: the last port would be 65536"),
            std::string::npos)
      << status.message();
  EXPECT_TRUE(parse_run_config(std::string(kMinimal) + "[rollout]\nactors = 2\n[metrics]\nport_base = 65530\n", "t")
                  .ok());
}

TEST(MetricsConfigTest, WrongTypeIsNamed) {
  Status status = parse_run_config(std::string(kMinimal) + "[metrics]\nhost = 1\n", "test.toml").status();
  EXPECT_NE(status.message().find("[metrics] host: expected a string, got an integer"), std::string::npos)
      << status.message();
}

}  // namespace
} // namespace caravan::apps
