// File: learner/sft_stage.h
// The SFT stage of `caravan run` ([task] kind = "sft"): reads the [task] dataset
// (tasks/sft_dataset.h) with its held-out set, tokenises each conversation with the model's chat
// template and assistant-only masks (learner/stage_data.h) and trains with learner/sft_trainer.h.
// Its held-out result is the loss (mean cross entropy per assistant token), printed before and
// after training. The stage loop (learner/stage_loop.h) does the rest: batches, checkpoints,
// resume, metrics and the final model.
//
//   CARAVAN_RETURN_IF_ERROR(learner::run_stage(config, run_dir, learner::open_sft_stage, control));
#pragma once

#include <memory>

#include "core/status.h"
#include "learner/stage_options.h"
#include "learner/stage_trainer.h"
#include "model/llama.h"
#include "model/model_loader.h"

namespace caravan::learner {

// Loads [task]'s data for the model `spec` describes and builds the [sft] trainer on `policy`.
// Errors: those of the data (learner/stage_data.h), each naming its file or key.
Result<std::unique_ptr<StageTrainer>> open_sft_stage(const StageOptions& config, const model::ModelSpec& spec,
                                                     model::Llama policy);

} // namespace caravan::learner
