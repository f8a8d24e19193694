#include "apps/launcher_metrics.h"

#include <gtest/gtest.h>

namespace caravan::apps {
namespace {

using namespace std::chrono_literals;

TEST(LauncherMetricsTest, PublishesEveryChildsStateOnEachTickOfTheSupervisor) {
  auto registry = std::make_shared<metrics::Registry>();
  LauncherMetrics metrics(*registry, {"leader", "worker"});
  int ticks = 0;
  std::string seen_while_running;
  ProcessSupervisor supervisor({.kill_grace = 2s, .sigterm_grace = 2s, .on_tick = [&](const ProcessSupervisor& s) {
                                  metrics.publish(s);
                                  if (++ticks == 1) seen_while_running = registry->serialize();
                                }});
  ASSERT_TRUE(supervisor.spawn("leader", {"/bin/sh", "-c", "sleep 0.5"}).ok());
  ASSERT_TRUE(supervisor.spawn("worker", {"/bin/sh", "-c", "exit 0"}).ok());
  ASSERT_TRUE(supervisor.wait("leader").ok());
  EXPECT_GE(ticks, 2);
  EXPECT_NE(seen_while_running.find("caravan_launcher_process_up{process=\"leader\"} 1\n"), std::string::npos)
      << seen_while_running;
  EXPECT_NE(seen_while_running.find("caravan_launcher_process_restarts_total{process=\"leader\"} 0\n"),
            std::string::npos);
  EXPECT_NE(seen_while_running.find("caravan_launcher_start_time_seconds "), std::string::npos);
  // After the run the supervisor no longer ticks; a last publish shows every child gone.
  metrics.publish(supervisor);
  EXPECT_NE(registry->serialize().find("caravan_launcher_process_up{process=\"leader\"} 0\n"), std::string::npos);
}

}  // namespace
} // namespace caravan::apps
