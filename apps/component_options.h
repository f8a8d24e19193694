// File: apps/component_options.h
// The run config split into what each component takes: a component below apps/ never sees
// RunConfig, only its own options structs or the small struct it composes of them
// (controller::ControllerOptions, learner::LearnerOptions, learner::StageOptions,
// core::ComputeSharing). Each function copies the keys that struct documents, nothing else.
//
//   controller::Controller controller(controller_options(config), link, run_dir, ...);
#pragma once

#include "actors/controller/controller_options.h"
#include "apps/run_config.h"
#include "core/thread_budget.h"
#include "learner/learner_options.h"
#include "learner/stage_options.h"

namespace caravan::apps {

controller::ControllerOptions controller_options(const RunConfig& config);
learner::LearnerOptions learner_options(const RunConfig& config);
// The SFT or DPO stage's options (both stages read the one struct).
learner::StageOptions stage_options(const RunConfig& config);
core::ComputeSharing compute_sharing(const RunConfig& config);

} // namespace caravan::apps
