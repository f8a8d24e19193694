// File: learner/learner_options.h
// What the learner process (learner/learner_worker.h) takes from the run config: its trainers'
// options and the run's seed and task kind. apps/ composes it from the run config
// (apps/run_config.h); tests build it directly. Member names follow the run config's sections.
#pragma once

#include <cstdint>
#include <string>

#include "learner/grpo_options.h"
#include "learner/rollout_sampling.h"
#include "learner/sft_options.h"
#include "learner/value_model_options.h"

namespace caravan::learner {

struct LearnerOptions {
  // [run] seed: the SFT warm-up's problems are drawn from a stream seeded by it.
  uint64_t seed = 1234;
  // [task] kind, named when an SftRequest finds no task with reference completions.
  std::string task_kind;
  SftOptions sft;
  GrpoOptions grpo;
  RolloutSampling rollout;
  // PPO's value model ([value_model]; used with advantage_estimator = "gae").
  ValueModelOptions value_model;
};

} // namespace caravan::learner
