#include "apps/metrics_endpoint.h"

#include <gtest/gtest.h>

#include <cstdlib>

#include "tests/common/caravan_cli.h"
#include "tests/common/temp_dir.h"

namespace caravan::apps {
namespace {

RunConfig config_with(int64_t port_base, const std::string& host = "") {
  RunConfig config;
  config.rollout.actors = 3;
  config.verifier.workers = 2;
  config.metrics.port_base = port_base;
  config.metrics.host = host;
  return config;
}

TEST(MetricsEndpointTest, EveryProcessHasItsOwnPortAfterTheBase) {
  const RunConfig config = config_with(9400);
  const auto port = [&](MetricsProcess process, uint32_t rank) {
    auto endpoint = metrics_endpoint(config, process, rank, "10.0.0.7", {});
    EXPECT_TRUE(endpoint.ok() && endpoint->has_value());
    return (*endpoint)->port;
  };
  EXPECT_EQ(port(MetricsProcess::kController, 0), 9400);
  EXPECT_EQ(port(MetricsProcess::kLearner, 0), 9401);
  EXPECT_EQ(port(MetricsProcess::kRollout, 0), 9402);
  EXPECT_EQ(port(MetricsProcess::kRollout, 2), 9404);
  EXPECT_EQ(port(MetricsProcess::kVerifier, 0), 9405);
  EXPECT_EQ(port(MetricsProcess::kVerifier, 1), 9406);
  EXPECT_EQ(port(MetricsProcess::kLauncher, 0), 9407);
}

TEST(MetricsEndpointTest, HostIsTheConfiguredOneElseTheAdvertisedOne) {
  auto advertised = metrics_endpoint(config_with(9400), MetricsProcess::kLearner, 0, "10.0.0.7", {});
  ASSERT_TRUE(advertised.ok());
  EXPECT_EQ((*advertised)->host, "10.0.0.7");
  auto configured = metrics_endpoint(config_with(9400, "0.0.0.0"), MetricsProcess::kLearner, 0, "10.0.0.7", {});
  ASSERT_TRUE(configured.ok());
  EXPECT_EQ((*configured)->host, "0.0.0.0");
}

TEST(MetricsEndpointTest, PortBaseZeroTurnsMetricsOff) {
  auto endpoint = metrics_endpoint(config_with(0), MetricsProcess::kController, 0, "127.0.0.1", {});
  ASSERT_TRUE(endpoint.ok());
  EXPECT_FALSE(endpoint->has_value());
}

TEST(MetricsEndpointTest, TheLaunchersEnvironmentOverridesTheConfig) {
  // A pod: the same port in every pod, whatever the config says (even metrics off there).
  auto pod = metrics_endpoint(config_with(0), MetricsProcess::kRollout, 2, "10.0.0.7",
                              {.host = "0.0.0.0", .port = "9400"});
  ASSERT_TRUE(pod.ok()) << pod.status().to_string();
  ASSERT_TRUE(pod->has_value());
  EXPECT_EQ((*pod)->port, 9400);
  EXPECT_EQ((*pod)->host, "0.0.0.0");
  // CARAVAN_METRICS_PORT=0 turns this process's metrics off.
  auto off = metrics_endpoint(config_with(9400), MetricsProcess::kRollout, 2, "10.0.0.7", {.port = "0"});
  ASSERT_TRUE(off.ok());
  EXPECT_FALSE(off->has_value());
  // The host alone keeps the configured port.
  auto host_only = metrics_endpoint(config_with(9400), MetricsProcess::kLearner, 0, "10.0.0.7", {.host = "127.0.0.1"});
  ASSERT_TRUE(host_only.ok());
  EXPECT_EQ((*host_only)->port, 9401);
  EXPECT_EQ((*host_only)->host, "127.0.0.1");
}

TEST(MetricsEndpointTest, AMalformedPortVariableIsNamed) {
  for (const std::string bad : {"http", "94O0", "70000", "-1", "9400 "}) {
    const Status status =
        metrics_endpoint(config_with(9400), MetricsProcess::kController, 0, "h", {.port = bad}).status();
    EXPECT_EQ(status.code(), StatusCode::kInvalidArgument) << bad;
    EXPECT_NE(status.message().find("CARAVAN_METRICS_PORT=" + bad + ": expected a port 0..65535"), std::string::npos)
        << status.message();
  }
}

TEST(MetricsEndpointTest, StartsNothingWhenOffAndNamesTheProcessWhenThePortIsTaken) {
  auto registry = std::make_shared<metrics::Registry>();
  auto off = start_metrics_endpoint(std::nullopt, MetricsProcess::kVerifier, registry, {}, {});
  ASSERT_TRUE(off.ok());
  EXPECT_EQ(*off, nullptr);
  auto first = start_metrics_endpoint(metrics::ExposerOptions{}, MetricsProcess::kVerifier, registry, {}, {});
  ASSERT_TRUE(first.ok()) << first.status().to_string();
  metrics::ExposerOptions same;
  same.port = (*first)->port();
  const Status taken = start_metrics_endpoint(same, MetricsProcess::kVerifier, registry, {}, {}).status();
  EXPECT_EQ(taken.code(), StatusCode::kUnavailable);
  EXPECT_EQ(taken.message().rfind("verifier metrics endpoint: ", 0), 0u) << taken.message();
}

// `caravan run` gives every process its own port: a port variable meant for one worker process
// would make them all bind the same one, so it is refused before anything starts.
TEST(MetricsEndpointTest, CaravanRunRefusesThePortVariableOfOneWorker) {
  const caravan::testing::TempDir dir;
  ::setenv("CARAVAN_METRICS_PORT", "9400", /*overwrite=*/1);
  const testing::CliOutcome outcome = testing::run_caravan("run no-such-config.toml", dir.path());
  ::unsetenv("CARAVAN_METRICS_PORT");
  EXPECT_EQ(outcome.exit_code, 1) << outcome.err;
  EXPECT_NE(outcome.err.find("CARAVAN_METRICS_PORT is set"), std::string::npos) << outcome.err;
}

}  // namespace
} // namespace caravan::apps
