#include "apps/run_processes.h"

#include <gtest/gtest.h>

namespace caravan::apps {
namespace {

apps::RunConfig two_actors_one_verifier() {
  apps::RunConfig config;
  config.rollout.actors = 2;
  config.verifier.workers = 1;
  return config;
}

TEST(RunProcessesTest, LocalRunSupervisesTheControllerAndEveryWorker) {
  EXPECT_EQ(supervised_process_names(two_actors_one_verifier(), /*external_workers=*/false),
            (std::vector<std::string>{"controller-0", "learner-0", "rollout-0", "rollout-1", "verifier-0"}));
}

TEST(RunProcessesTest, ExternalWorkersAreNotTheLaunchersChildren) {
  EXPECT_EQ(supervised_process_names(two_actors_one_verifier(), /*external_workers=*/true),
            std::vector<std::string>{"controller-0"});
  // The cluster launcher gets them instead, under the same roles and ranks.
  EXPECT_EQ(external_workers_listing(two_actors_one_verifier()), "learner 0\nrollout 0\nrollout 1\nverifier 0\n");
}

}  // namespace
} // namespace caravan::apps
