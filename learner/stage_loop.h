// File: learner/stage_loop.h
// The loop of the stages before RL ([task] kind = "sft" / "dpo"; learner/sft_stage.h,
// learner/dpo_stage.h), in the launcher's process. run_stage opens [model], builds the weights
// seeded by [run] seed, opens the stage (its data and trainer, learner/stage_trainer.h) and
// trains its steps on batches drawn epoch by epoch in a seeded shuffle (stream_batch). It owns
// what the stages share:
//   - metrics.jsonl: the data report, one record per step and per held-out evaluation (before
//     the first step and after the last);
//   - a progress line every 10 steps and after the last;
//   - checkpoints/step-N/ every checkpoint_every steps and when stopped: the model directory and
//     the full training state (optimizer, RNG, step, data position; learner/checkpoint.h,
//     write_stage_state), committed atomically (core/checkpoints.h);
//   - resume: continues after the newest committed checkpoint with the same batches, learning
//     rates and optimizer state an uninterrupted run has (bitwise on CPU with fixed threads);
//   - RUN_DIR/final_model, the model the next stage (or an RLVR run) takes as [model] path.
//
//   const StageControl control{.resume = false, .stop = signals.token()};
//   CARAVAN_RETURN_IF_ERROR(run_stage(config, run_dir, open_sft_stage, control));
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <stop_token>

#include "core/run_directory.h"
#include "core/status.h"
#include "learner/stage_options.h"
#include "learner/stage_trainer.h"
#include "model/llama.h"
#include "model/model_loader.h"

namespace caravan::learner {

// Opens a stage on the model `spec` describes, training `policy` (its starting weights):
// loads the data and builds the trainer. open_sft_stage and open_dpo_stage are the two.
using StageOpener = std::function<Result<std::unique_ptr<StageTrainer>>(
    const StageOptions& config, const model::ModelSpec& spec, model::Llama policy)>;

struct StageControl {
  // Continue after the newest committed checkpoint of the run directory (`caravan run
  // --resume`); without one the stage starts at step 0 in the same directory (logged).
  bool resume = false;
  // When requested (SIGTERM, SIGINT), the loop ends after the step in progress, checkpoints it
  // and returns kCancelled.
  std::stop_token stop;
};

// The loop described above; `config` is resolved (absolute paths) and `run_dir` holds its
// config.toml. Blocks until the stage is done or stopped. Prints "final model: DIR" when done.
// Errors, each naming its file or key: the model loader's, `open`'s, the trainer's, the run
// directory's writes; kCancelled when stopped ("stopped after step N with checkpoint DIR; resume
// with: caravan run --resume RUN_DIR"). On resume: kFailedPrecondition when final_model exists
// (the stage is done); kInvalidArgument naming stage_state.json and its key when the checkpoint
// belongs to another stage, config or data, and the checkpoint reader's errors (a missing file,
// a tensor of another shape, an optimizer of other parameters): never a silent start over.
Status run_stage(const StageOptions& config, const core::RunDirectory& run_dir, const StageOpener& open,
                 const StageControl& control);

} // namespace caravan::learner
