// File: learner/dpo_stage.h
// The DPO stage of `caravan run` ([task] kind = "dpo"), in the launcher's process: reads the
// [task] preference pairs (tasks/preference_dataset.h) with their held-out set, tokenises both
// responses of each pair with the model's chat template (only the response is scored), trains
// [dpo] steps (learner/dpo_trainer.h) against a frozen copy of the starting model, and writes
// metrics.jsonl, the checkpoints of [dpo] checkpoint_every and RUN_DIR/final_model
// (learner/stage_output.h). Prints the held-out chosen-over-rejected margin and preference
// accuracy before and after training.
//
//   CARAVAN_RETURN_IF_ERROR(learner::run_dpo_stage(config, run_dir));
#pragma once

#include "core/run_directory.h"
#include "core/status.h"
#include "learner/stage_options.h"

namespace caravan::learner {

// As run_sft_stage (learner/sft_stage.h), for [dpo].
Status run_dpo_stage(const StageOptions& config, const core::RunDirectory& run_dir);

} // namespace caravan::learner
