// File: apps/run_config.h
// The typed configuration of a run, composed of the components' own options structs: each
// struct lives next to its component's code with defaults in member initializers and
// units/ranges documented per field; apps/run_config_reader.h parses TOML into this struct (and
// writes it back); each component receives its own struct (or a struct of its own composed
// from these by apps/).
//
//   CARAVAN_ASSIGN_OR_RETURN(RunConfig config, load_run_config("configs/quickstart.toml"));
//   CARAVAN_ASSIGN_OR_RETURN(model::ModelSpec spec, model::open_model(config.model));
#pragma once

#include "actors/controller/deadline_options.h"
#include "actors/controller/dynamic_sampling_options.h"
#include "actors/controller/pipeline_options.h"
#include "actors/controller/supervision_options.h"
#include "actors/rollout/rollout_options.h"
#include "apps/metrics_options.h"
#include "core/cluster_options.h"
#include "core/run_options.h"
#include "core/task_options.h"
#include "learner/data_parallel_options.h"
#include "learner/dpo_options.h"
#include "learner/grpo_options.h"
#include "learner/sft_options.h"
#include "learner/value_model_options.h"
#include "model/model_options.h"
#include "rewards/verifier_options.h"
#include "weights_sync/weight_sync_options.h"

namespace caravan::apps {

struct RunConfig {
  core::RunOptions run;
  core::TaskOptions task;
  model::ModelOptions model;
  learner::SftOptions sft;
  learner::DpoOptions dpo;
  learner::GrpoOptions grpo;
  // [value_model]: PPO's value model (advantage_estimator = "gae").
  learner::ValueModelOptions value_model;
  // [grpo] dynamic_sampling, dynamic_sampling_max_rounds: the controller's DAPO dynamic sampling.
  controller::DynamicSamplingOptions dynamic_sampling;
  rollout::RolloutOptions rollout;
  rewards::VerifierOptions verifier;
  wsync::WeightSyncOptions weights_sync;
  controller::PipelineOptions pipeline;
  controller::DeadlineOptions deadlines;
  controller::SupervisionOptions supervision;
  core::ClusterOptions cluster;
  MetricsOptions metrics;
  learner::DataParallelOptions learner;
};

} // namespace caravan::apps
