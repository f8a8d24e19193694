// File: actors/controller/pipeline_policy.h
// How far generation may run ahead of training ([pipeline], actors/controller/pipeline_options.h), as two pure
// rules the controller applies:
//   admission: with `completed` steps trained and their weights synced, the run may have drawn
//     (completed + 1 + max_lag) * prompts_per_step training prompts; max_lag is 0 in "sync" (the
//     next step's prompts wait for the new weights), 1 in "one_step_off" (they are generated
//     while the learner trains) and max_staleness in "async";
//   staleness: a group whose oldest token is more than max_lag versions behind the policy that
//     would train it is regenerated ("drop") or trained with its loss scaled by
//     stale_weight^(versions beyond the bound) ("downweight").
// Admission alone keeps samples within the bound while work flows in order; the staleness rule
// catches what a failure re-ordered (a lost actor's groups generated again later).
//
//   PipelinePolicy policy(config.pipeline, config.grpo.prompts_per_step);
//   while (next_draw < policy.draw_limit(completed_steps)) draw();
//   StalenessVerdict verdict = policy.judge(policy_version - group_version);
#pragma once

#include <cmath>
#include <cstdint>

#include "actors/controller/pipeline_options.h"

namespace caravan::controller {

struct StalenessVerdict {
  // False: regenerate the group (counted as dropped, reason stale).
  bool train = true;
  // Loss scale of the group's samples when trained.
  float weight = 1.0f;
};

class PipelinePolicy {
 public:
  PipelinePolicy(const PipelineOptions& options, int64_t prompts_per_step)
      : prompts_per_step_(static_cast<uint64_t>(prompts_per_step)),
        max_lag_(options.mode == "sync" ? 0 : options.mode == "one_step_off" ? 1 : static_cast<uint64_t>(options.max_staleness)),
        downweight_(options.stale_samples == "downweight"),
        stale_weight_(options.stale_weight) {}

  // Versions a trained sample may lag the policy that trains it.
  uint64_t max_lag() const { return max_lag_; }

  // Training prompts the run may have drawn once `completed_steps` steps are trained and synced.
  uint64_t draw_limit(uint64_t completed_steps) const { return (completed_steps + 1 + max_lag_) * prompts_per_step_; }

  // What to do with a group `staleness` versions behind the policy about to train it.
  StalenessVerdict judge(uint64_t staleness) const {
    if (staleness <= max_lag_) return {};
    if (!downweight_) return {.train = false, .weight = 0.0f};
    return {.train = true, .weight = static_cast<float>(std::pow(stale_weight_, static_cast<double>(staleness - max_lag_)))};
  }

 private:
  uint64_t prompts_per_step_;
  uint64_t max_lag_;
  bool downweight_;
  double stale_weight_;
};

} // namespace caravan::controller
