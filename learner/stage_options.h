// File: learner/stage_options.h
// What a stage before RL (learner/sft_stage.h, learner/dpo_stage.h) takes from the run config:
// the run's seed and threads, its dataset, its model and the stage's own options. apps/ composes
// it from the run config (apps/run_config.h); tests build it directly. Member names follow the
// run config's sections.
#pragma once

#include "core/run_options.h"
#include "core/task_options.h"
#include "learner/dpo_options.h"
#include "learner/sft_options.h"
#include "model/model_options.h"

namespace caravan::learner {

struct StageOptions {
  // [run]: threads_per_process, and the seed of the weights and of the batch order.
  core::RunOptions run;
  // [task]: the dataset and its held-out set.
  core::TaskOptions task;
  model::ModelOptions model;
  // Read by the SFT stage.
  SftOptions sft;
  // Read by the DPO stage.
  DpoOptions dpo;
};

} // namespace caravan::learner
