// File: tests/learner/checkpointed_learner.h
// A learner's state as the checkpoint tests see it: a tiny policy and, once RL started, its GRPO
// trainer, with an adaptive KL coefficient and a decaying learning rate (state beyond weights
// and AdamW moments, so a restore that loses any of it shows in the next steps). With `ppo`, GAE
// and a value model copied from the policy, with its own optimizer and warm-up.
//
//   CheckpointedLearner learner(/*seed=*/1);
//   ASSERT_TRUE(learner.train_step().ok());
//   CheckpointedLearner restored(/*seed=*/9);
//   ASSERT_TRUE(restored.restore(dir).ok());
#pragma once

#include <filesystem>
#include <memory>

#include "learner/checkpoint.h"
#include "learner/value_model.h"
#include "learner/value_trainer.h"
#include "tests/learner/trainer_test_util.h"

namespace caravan::learner::testing {

struct CheckpointedLearner {
  explicit CheckpointedLearner(uint64_t seed, bool ppo = false) : policy(tiny_llama(seed)), ppo(ppo) {}
  std::unique_ptr<GrpoTrainer> make_trainer() {
    learner::GrpoOptions options = grpo_test_options();
    options.steps = 10;
    options.kl.target = 1e-4;
    options.schedule = {.kind = learner::LrScheduleKind::kCosine, .warmup_steps = 1, .min_lr_ratio = 0.1};
    std::unique_ptr<ValueTrainer> critic;
    if (ppo) {
      options.advantage.estimator = learner::AdvantageEstimator::kGae;
      critic = std::make_unique<ValueTrainer>(
          value_model_from_policy(policy),
          ValueModelOptions{.source = "policy", .path = "", .learning_rate = 1e-2, .warmup_steps = 5},
          ValueUpdateOptions{});
    }
    return std::make_unique<GrpoTrainer>(policy, options, rollout_test_options(), /*pad_id=*/0, std::move(critic));
  }
  // One GRPO step on `groups` (rewarded_groups(*policy) by default); builds the trainer first.
  Result<GrpoStepStats> train_step(const std::vector<RolloutGroup>& groups) {
    if (trainer == nullptr) trainer = make_trainer();
    return trainer->step(groups, /*policy_version=*/0);
  }
  Status train_step() { return train_step(rewarded_groups(*policy)).status(); }
  Result<CheckpointContents> restore(const std::filesystem::path& dir) {
    return read_checkpoint(dir, policy, trainer, [this] { return make_trainer(); });
  }
  model::Llama policy;
  bool ppo;
  std::unique_ptr<GrpoTrainer> trainer;
};

}  // namespace caravan::learner::testing
