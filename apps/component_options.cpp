#include "apps/component_options.h"

namespace caravan::apps {

controller::ControllerOptions controller_options(const RunConfig& config) {
  return {.run = config.run,
          .sft_steps = config.sft.steps,
          .grpo = {.steps = config.grpo.steps,
                   .prompts_per_step = config.grpo.prompts_per_step,
                   .group_size = config.grpo.group_size,
                   .checkpoint_every = config.grpo.checkpoint_every,
                   .dynamic_sampling = config.dynamic_sampling},
          .rollout = config.rollout,
          .verifier_workers = config.verifier.workers,
          .pipeline = config.pipeline,
          .deadlines = config.deadlines,
          .supervision = config.supervision,
          .cluster = config.cluster};
}

learner::LearnerOptions learner_options(const RunConfig& config) {
  return {.seed = config.run.seed,
          .task_kind = config.task.kind,
          .sft = config.sft,
          .grpo = config.grpo,
          .rollout = {.temperature = config.rollout.temperature, .max_new_tokens = config.rollout.max_new_tokens},
          .value_model = config.value_model};
}

learner::StageOptions stage_options(const RunConfig& config) {
  return {.run = config.run, .task = config.task, .model = config.model, .sft = config.sft, .dpo = config.dpo};
}

core::ComputeSharing compute_sharing(const RunConfig& config) {
  return {.threads_per_process = config.run.threads_per_process,
          .rollout_actors = config.rollout.actors,
          .overlapping = config.pipeline.mode != "sync"};
}

} // namespace caravan::apps
