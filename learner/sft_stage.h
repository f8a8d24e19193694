// File: learner/sft_stage.h
// The SFT stage of `caravan run` ([task] kind = "sft"), in the launcher's process: reads the
// [task] dataset (tasks/sft_dataset.h) with its held-out set, tokenises each conversation with
// the model's chat template and assistant-only masks, trains [sft] steps (learner/sft_trainer.h)
// on batches drawn epoch by epoch in a seeded shuffle, and writes metrics.jsonl, the checkpoints
// of [sft] checkpoint_every and RUN_DIR/final_model (learner/stage_output.h). Prints the held-out
// loss (mean cross entropy per assistant token) before and after training.
//
//   CARAVAN_RETURN_IF_ERROR(learner::run_sft_stage(config, run_dir));
#pragma once

#include "core/run_directory.h"
#include "core/status.h"
#include "learner/stage_options.h"

namespace caravan::learner {

// `config` is resolved (absolute paths) and `run_dir` holds its config.toml. Errors: those of
// the model loader, the data (learner/stage_data.h), training (a non-finite gradient) and the
// run directory's writes, each naming its file or key. Blocks until the stage is done.
Status run_sft_stage(const StageOptions& config, const core::RunDirectory& run_dir);

} // namespace caravan::learner
