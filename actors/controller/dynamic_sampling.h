// File: actors/controller/dynamic_sampling.h
// DAPO dynamic sampling ([grpo] dynamic_sampling, dynamic_sampling_options.h) as the controller
// applies it while it fills a step's TrainBatch: a ready group that is not informative() leaves
// the step (the ledger drops it with reason uninformative); under "refill" a new prompt is drawn
// in its place, at most (max_rounds - 1) * prompts_per_step times per step, so the step still
// gets prompts_per_step informative groups; under "drop", or once the cap is reached, the step
// takes one group fewer instead. A step whose every group was dropped trains nothing.
//
// Accounting (what keeps admission, resume and the run's end exact): a step takes
// batch_target() groups plus the groups it dropped unreplaced, i.e. always prompts_per_step of
// the admitted draws; each refill admits one draw more (refills(), added to the draw limit), so
// every drawn prompt is trained or dropped exactly once and no prompt is left over at the end.
// The state (run totals and the step in progress) is part of the controller's checkpoint.
//
//   DynamicSampler sampler(config.grpo.dynamic_sampling, config.grpo.prompts_per_step);
//   if (sampler.enabled() && !informative(group)) { ledger.drop_group(key, DropReason::kUninformative); sampler.drop_group(); }
//   while (batch.size() < sampler.batch_target()) ...;
//   StepFill fill = sampler.finish_step();
#pragma once

#include <cstdint>

#include <nlohmann/json.hpp>

#include "actors/controller/dynamic_sampling_options.h"
#include "actors/controller/ledger.h"
#include "core/status.h"

namespace caravan::controller {

// Whether a ready group carries a group-relative signal: the samples the learner trains (those
// buffered; unjudged and over-length samples are dropped and carry no reward value) hold at
// least two different scores. Scores compare exactly: verifiers give the same score for the same
// verdict.
bool informative(const LedgerGroup& group);

// What dynamic sampling did to one step.
struct StepFill {
  // Uninformative groups that left the step.
  uint64_t dropped_groups = 0;
  // Prompts drawn in place of dropped groups.
  uint64_t refilled_groups = 0;
  // "refill" reached dynamic_sampling_max_rounds: the step trains on fewer groups.
  bool capped = false;
};

// Owner thread only.
class DynamicSampler {
 public:
  DynamicSampler(const DynamicSamplingOptions& options, int64_t prompts_per_step);

  bool enabled() const { return options_.mode != DynamicSampling::kOff; }
  DynamicSampling mode() const { return options_.mode; }

  // Groups the step in progress takes into its TrainBatch: prompts_per_step less the groups it
  // dropped without a replacement.
  uint64_t batch_target() const;
  // An uninformative group left the step in progress. True when a prompt is to be drawn in its
  // place ("refill" within the cap).
  bool drop_group();
  // The step in progress is done (trained, or skipped with nothing to train): what happened to
  // it; the next step starts with nothing dropped.
  StepFill finish_step();

  // Replacement prompts drawn in the run so far.
  uint64_t refills() const { return refills_; }
  // Uninformative groups dropped in the run so far.
  uint64_t dropped_groups() const { return dropped_groups_; }

  // The checkpoint form: run totals and the step in progress.
  nlohmann::json to_json() const;
  // kInvalidArgument naming the field for a malformed checkpoint.
  Status restore(const nlohmann::json& json);

 private:
  // Refills one step may draw.
  uint64_t refill_cap() const;

  DynamicSamplingOptions options_;
  uint64_t prompts_per_step_;
  uint64_t refills_ = 0;
  uint64_t dropped_groups_ = 0;
  StepFill step_;
};

} // namespace caravan::controller
