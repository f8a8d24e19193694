// File: actors/controller/pipeline_options.h
// How generation and training overlap ([pipeline]), read by the controller's PipelinePolicy.
// The run config (apps/run_config.h) holds one; apps/run_config_reader.cpp fills it from TOML.
#pragma once

#include <cstdint>
#include <string>

namespace caravan::controller {

// [pipeline]: how generation and training overlap (actors/controller/admission.h).
struct PipelineOptions {
  // "sync": a step's prompts are generated with the weights of the step before, while the
  // learner waits; "one_step_off": the next step's prompts are generated while the learner
  // trains (samples at most 1 version old); "async": rollout actors never wait, samples are at
  // most max_staleness versions old.
  std::string mode = "sync";
  // async only: the most versions a trained sample's first token may lag the policy it trains, 1..64.
  int64_t max_staleness = 2;
  // A group older than the bound (after a worker failure re-ordered the work): "drop" discards
  // its samples and generates the prompt again; "downweight" trains it with its loss scaled by
  // stale_weight per version beyond the bound. Counted either way.
  std::string stale_samples = "drop";
  // Loss scale per version beyond max_staleness when stale_samples = "downweight", (0, 1).
  double stale_weight = 0.5;
  // DAPO overlong filtering: completions cut at max_new_tokens get no gradient and do not
  // count in their group's baseline (dropped with reason over_length).
  bool drop_truncated = false;
};

} // namespace caravan::controller
