// File: learner/dpo_stage.h
// The DPO stage of `caravan run` ([task] kind = "dpo"): reads the [task] preference pairs
// (tasks/preference_dataset.h) with their held-out set, tokenises both responses of each pair
// with the model's chat template (only the response is scored; learner/stage_data.h) and trains
// with learner/dpo_trainer.h against a frozen copy of the starting model. Its held-out result is
// the chosen-over-rejected margin and preference accuracy, printed before and after training.
// The stage loop (learner/stage_loop.h) does the rest: batches, checkpoints, resume, metrics and
// the final model.
//
//   CARAVAN_RETURN_IF_ERROR(learner::run_stage(config, run_dir, learner::open_dpo_stage, control));
#pragma once

#include <memory>

#include "core/status.h"
#include "learner/stage_options.h"
#include "learner/stage_trainer.h"
#include "model/llama.h"
#include "model/model_loader.h"

namespace caravan::learner {

// As open_sft_stage (learner/sft_stage.h), for [dpo]. The reference is a frozen copy of
// `policy` as passed in (the starting model; a resumed stage restores the policy afterwards).
Result<std::unique_ptr<StageTrainer>> open_dpo_stage(const StageOptions& config, const model::ModelSpec& spec,
                                                     model::Llama policy);

} // namespace caravan::learner
