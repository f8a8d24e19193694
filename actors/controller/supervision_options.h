// File: actors/controller/supervision_options.h
// What happens when a process of the run fails ([supervision]).
// The run config (apps/run_config.h) holds one; apps/run_config_reader.cpp fills it from TOML.
#pragma once

#include <cstdint>

namespace caravan::controller {

// [supervision]: what happens when a process fails.
struct SupervisionOptions {
  // Restarts of one rollout actor or verifier over the run before the run fails, 0..1000.
  int64_t max_restarts = 3;
  // Delay before the first restart, seconds, doubled for each further restart of that worker, >= 0.
  double restart_backoff_s = 1.0;
  // On SIGTERM (what Slurm and Kubernetes send) the run checkpoints and exits within this, seconds, > 0.
  double sigterm_grace_s = 120.0;
};

} // namespace caravan::controller
