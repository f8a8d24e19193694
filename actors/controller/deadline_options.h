// File: actors/controller/deadline_options.h
// The controller's wall-clock budget per kind of request ([deadlines]).
// The run config (apps/run_config.h) holds one; apps/run_config_reader.cpp fills it from TOML.
#pragma once

namespace caravan::controller {

// [deadlines]: the wall-clock budget of each kind of request, seconds, > 0. Liveness is
// separate ([cluster] heartbeats): a worker past a deadline is alive but too slow; its work is
// re-queued elsewhere (rollout, reward) or the run stops with a checkpoint (learner).
struct DeadlineOptions {
  double sft_s = 3600.0;
  // One held-out evaluation (all its prompts).
  double evaluation_s = 1800.0;
  // One RolloutRequest (all its groups).
  double rollout_s = 600.0;
  double reward_s = 300.0;
  double train_step_s = 1800.0;
  // One weight sync, the group's re-formation included.
  double weight_sync_s = 300.0;
  double checkpoint_s = 1800.0;
};

} // namespace caravan::controller
