// File: actors/controller/controller_options.h
// What the controller takes from the run config: its own sections ([pipeline], [deadlines],
// [supervision]) and the few keys of other components' sections it drives the run by. apps/
// composes it from the run config (apps/run_config.h); tests build it directly. Member names
// follow the run config's sections so `options.grpo.steps` reads as the key it comes from.
#pragma once

#include <cstdint>

#include "actors/controller/deadline_options.h"
#include "actors/controller/dynamic_sampling_options.h"
#include "actors/controller/pipeline_options.h"
#include "actors/controller/supervision_options.h"
#include "actors/rollout/rollout_options.h"
#include "core/cluster_options.h"
#include "core/run_options.h"

namespace caravan::controller {

// The [grpo] keys that shape the RL loop the controller drives (learner/grpo_options.h has the
// learner's side of [grpo]; the defaults are the same).
struct RlLoopOptions {
  // RL steps, >= 0.
  int64_t steps = 100;
  // Prompts per step, >= 1.
  int64_t prompts_per_step = 32;
  // Completions per prompt (the GRPO group), >= 2.
  int64_t group_size = 8;
  // Checkpoint every this many RL steps (and at the end); 0 = only at the end.
  int64_t checkpoint_every = 0;
  // DAPO dynamic sampling of the step's groups (dynamic_sampling_options.h).
  DynamicSamplingOptions dynamic_sampling;
};

struct ControllerOptions {
  // [run]: the seed of the samples' sampling seeds (and what a checkpoint records).
  core::RunOptions run;
  // [sft] steps: the learner's warm-up before RL; 0 = none (the same default as [sft]).
  int64_t sft_steps = 300;
  RlLoopOptions grpo;
  // [rollout]: how many actors, and the sampling controls of every RolloutRequest.
  rollout::RolloutOptions rollout;
  // [verifier] workers: how many verifier processes the run has, >= 1.
  int64_t verifier_workers = 1;
  PipelineOptions pipeline;
  DeadlineOptions deadlines;
  SupervisionOptions supervision;
  core::ClusterOptions cluster;
};

} // namespace caravan::controller
