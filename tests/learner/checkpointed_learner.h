// File: tests/learner/checkpointed_learner.h
// A learner's state as the checkpoint tests see it: a tiny policy and, once RL started, its GRPO
// trainer, with an adaptive KL coefficient and a decaying learning rate (state beyond weights
// and AdamW moments, so a restore that loses any of it shows in the next steps). With `ppo`, GAE
// and a value model copied from the policy, with its own optimizer and warm-up. With
// `data_parallel` set before the first step, one rank of data-parallel learners (ZeRO-1, the
// value model's optimizer too).
//
//   CheckpointedLearner learner(/*seed=*/1);
//   ASSERT_TRUE(learner.train_step().ok());
//   CheckpointedLearner restored(/*seed=*/9);
//   ASSERT_TRUE(restored.restore(dir).ok());
#pragma once

#include <filesystem>
#include <memory>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

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
    options.kl.coef = kl_coef;
    options.kl.target = 1e-4;
    options.schedule = {.kind = learner::LrScheduleKind::kCosine, .warmup_steps = 1, .min_lr_ratio = 0.1};
    options.batching.mini_batches = mini_batches;
    std::unique_ptr<ValueTrainer> critic;
    if (ppo) {
      options.advantage.estimator = learner::AdvantageEstimator::kGae;
      critic = std::make_unique<ValueTrainer>(
          value_model_from_policy(policy),
          ValueModelOptions{.source = "policy", .path = "", .learning_rate = 1e-2, .warmup_steps = 5},
          ValueUpdateOptions{}, data_parallel);
    }
    return std::make_unique<GrpoTrainer>(policy, options, rollout_test_options(), /*pad_id=*/0, std::move(critic),
                                         data_parallel);
  }
  // One GRPO step on `groups` (rewarded_groups(*policy) by default); builds the trainer first.
  Result<GrpoStepStats> train_step(const std::vector<RolloutGroup>& groups) {
    if (trainer == nullptr) trainer = make_trainer();
    return trainer->step(groups, /*policy_version=*/0);
  }
  Status train_step() { return train_step(rewarded_groups(*policy)).status(); }
  Result<CheckpointContents> restore(const std::filesystem::path& dir) {
    return read_checkpoint(dir, policy, trainer, [this] { return make_trainer(); },
                           data_parallel != nullptr ? data_parallel->rank() : 0);
  }
  model::Llama policy;
  bool ppo;
  // The initial KL coefficient; 0 = no KL penalty and no reference model. Set before the first step.
  double kl_coef = 0.01;
  // [grpo] mini_batches (optimizer steps per TrainBatch); set before the first step.
  int64_t mini_batches = 1;
  // Not owned; null for a single learner.
  DataParallel* data_parallel = nullptr;
  std::unique_ptr<GrpoTrainer> trainer;
};

// Everything a step reports except its wall time.
struct StepRecord {
  double loss, kl_mean, clip_fraction, grad_norm;
  std::vector<std::pair<std::string, double>> terms;
  bool operator==(const StepRecord&) const = default;
};

inline void PrintTo(const StepRecord& record, std::ostream* out) {
  *out << "loss=" << record.loss << " kl_mean=" << record.kl_mean << " grad_norm=" << record.grad_norm;
}

// Step `step`'s groups: rewarded_groups with the reward moved to another completion each step,
// so every step's update differs.
inline std::vector<RolloutGroup> groups_of_step(model::LlamaImpl& policy, int step) {
  std::vector<RolloutGroup> groups = rewarded_groups(policy);
  for (size_t g = 0; g < groups.size(); ++g) {
    std::vector<RolloutSample>& samples = groups[g].samples;
    for (size_t s = 0; s < samples.size(); ++s) {
      samples[s].reward = (s == (static_cast<size_t>(step) + g) % samples.size()) ? 1.0f : 0.0f;
    }
  }
  return groups;
}

// Steps [first, last) of groups_of_step on `learner` (with data parallelism on its share),
// appending their records.
inline Status train_steps(CheckpointedLearner& learner, int first, int last, std::vector<StepRecord>& records) {
  for (int step = first; step < last; ++step) {
    std::vector<RolloutGroup> groups = groups_of_step(*learner.policy, step);
    if (learner.data_parallel != nullptr) {
      const auto [begin, end] = learner.data_parallel->share(groups.size());
      groups = std::vector<RolloutGroup>(groups.begin() + static_cast<ptrdiff_t>(begin),
                                         groups.begin() + static_cast<ptrdiff_t>(end));
    }
    CARAVAN_ASSIGN_OR_RETURN(const GrpoStepStats stats, learner.train_step(groups));
    records.push_back({stats.loss, stats.kl_mean, stats.clip_fraction, stats.grad_norm, stats.terms});
  }
  return Status();
}

}  // namespace caravan::learner::testing
