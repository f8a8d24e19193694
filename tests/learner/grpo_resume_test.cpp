// Exact resume over several steps (issue 20, "Resume equivalence"): N GRPO steps straight must
// give bit for bit the same step statistics and weights as N/2 steps, a checkpoint, a fresh
// learner restored from it, and N/2 more. CPU, one LibTorch thread: the sums then run in one
// order in both runs. The learner keeps state beyond its weights (AdamW moments and step count,
// the cosine schedule's position, the adaptive KL coefficient, the frozen reference, the RNG),
// and each step's rewards differ, so a restore that loses any of it departs within the steps.
#include <gtest/gtest.h>

#include <ATen/Parallel.h>

#include "model/checkpoint_io.h"
#include "tests/common/temp_dir.h"
#include "tests/learner/checkpointed_learner.h"

namespace caravan::learner {
namespace {

using testing::CheckpointedLearner;
using testing::StepRecord;
using testing::train_steps;

constexpr int kSteps = 6;

// Trains steps [first, last) of the schedule, appending their records.
void train(CheckpointedLearner& learner, int first, int last, std::vector<StepRecord>& records) {
  const Status trained = train_steps(learner, first, last, records);
  ASSERT_TRUE(trained.ok()) << trained.to_string();
}

class GrpoResumeTest : public ::testing::Test {
 protected:
  GrpoResumeTest() {
    at::set_num_threads(1);
    std::filesystem::create_directories(dir_);
  }
  // The uninterrupted run: all kSteps steps on straight_.
  std::vector<StepRecord> train_straight() {
    std::vector<StepRecord> records;
    train(straight_, 0, kSteps, records);
    return records;
  }
  // The first half on another learner of the same seed, checkpointed into dir_.
  std::vector<StepRecord> train_first_half_and_checkpoint() {
    std::vector<StepRecord> records;
    CheckpointedLearner first(/*seed=*/1);
    train(first, 0, kSteps / 2, records);
    const Status written = write_checkpoint(dir_, {.step = kSteps / 2, .policy_version = kSteps / 2, .rl_started = true},
                                            first.policy, first.policy->config(), {}, first.trainer.get());
    EXPECT_TRUE(written.ok()) << written.to_string();
    return records;
  }
  caravan::testing::TempDir root_;
  std::filesystem::path dir_ = root_.path() / "step-000003";
  CheckpointedLearner straight_{/*seed=*/1};
};

TEST_F(GrpoResumeTest, HalfThenCheckpointThenRestartGivesTheStraightRunsLossesBitForBit) {
  const std::vector<StepRecord> expected = train_straight();
  std::vector<StepRecord> resumed = train_first_half_and_checkpoint();
  CheckpointedLearner restarted(/*seed=*/9);  // other initial weights: all must come from the checkpoint
  const Result<CheckpointContents> contents = restarted.restore(dir_);
  ASSERT_TRUE(contents.ok()) << contents.status().to_string();
  train(restarted, kSteps / 2, kSteps, resumed);

  ASSERT_EQ(resumed.size(), expected.size());
  for (size_t step = 0; step < expected.size(); ++step) EXPECT_EQ(resumed[step], expected[step]) << "step " << step;
  // The steps moved the weights, the schedule and the KL coefficient, and the restart ends where
  // the straight run does.
  EXPECT_NE(expected.front().terms, expected.back().terms);
  EXPECT_TRUE(testing::same_weights(*restarted.policy, testing::snapshot(*straight_.policy)));
  EXPECT_TRUE(testing::same_weights(**restarted.trainer->reference(), testing::snapshot(**straight_.trainer->reference())));
  EXPECT_EQ(restarted.trainer->state().steps_done, kSteps);
  EXPECT_EQ(restarted.trainer->state().kl_coef, straight_.trainer->state().kl_coef);
}

// The comparison above sees lost state: a restart that reloads only the policy's weights (a
// new optimizer, schedule, KL controller and reference) departs at its first step.
TEST_F(GrpoResumeTest, ARestartFromTheWeightsAloneDeparts) {
  const std::vector<StepRecord> expected = train_straight();
  std::vector<StepRecord> resumed = train_first_half_and_checkpoint();
  CheckpointedLearner weights_only(/*seed=*/9);
  ASSERT_TRUE(model::load_model_weights(dir_, weights_only.policy).ok());
  train(weights_only, kSteps / 2, kSteps, resumed);

  for (size_t step = 0; step < kSteps / 2; ++step) EXPECT_EQ(resumed[step], expected[step]) << "step " << step;
  for (size_t step = kSteps / 2; step < kSteps; ++step) EXPECT_NE(resumed[step], expected[step]) << "step " << step;
}

}  // namespace
}  // namespace caravan::learner
