#include "core/thread_budget.h"

#include <gtest/gtest.h>

namespace caravan::core {
namespace {

ComputeSharing config(const std::string& mode, int64_t actors, int64_t threads) {
  return {.threads_per_process = threads, .rollout_actors = actors, .overlapping = mode != "sync"};
}

TEST(ThreadBudget, SyncRunsTheLearnerAloneAndTheActorsTogether) {
  const ComputeSharing c = config("sync", 2, 8);
  EXPECT_EQ(intra_op_threads(c, proto::Role::LEARNER, 8), 8);
  EXPECT_EQ(intra_op_threads(c, proto::Role::ROLLOUT, 8), 4);
}

TEST(ThreadBudget, OverlappingModesShareTheCoresBetweenLearnerAndActors) {
  for (const char* mode : {"one_step_off", "async"}) {
    const ComputeSharing c = config(mode, 1, 2);
    EXPECT_EQ(intra_op_threads(c, proto::Role::LEARNER, 2), 1) << mode;
    EXPECT_EQ(intra_op_threads(c, proto::Role::ROLLOUT, 2), 1) << mode;
  }
  EXPECT_EQ(intra_op_threads(config("async", 3, 16), proto::Role::ROLLOUT, 16), 4);
}

TEST(ThreadBudget, NeverBelowOneNorAboveThreadsPerProcess) {
  EXPECT_EQ(intra_op_threads(config("async", 4, 2), proto::Role::ROLLOUT, 2), 1);
  EXPECT_EQ(intra_op_threads(config("sync", 1, 2), proto::Role::LEARNER, 64), 2);
  EXPECT_EQ(intra_op_threads(config("async", 1, 3), proto::Role::VERIFIER, 1), 3);
}

TEST(ThreadBudget, AvailableCoresIsAtLeastOne) { EXPECT_GE(available_cores(), 1u); }

}  // namespace
}  // namespace caravan::core
