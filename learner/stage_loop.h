// File: learner/stage_loop.h
// What the SFT and DPO stages (learner/sft_stage.h, learner/dpo_stage.h) share around their
// trainers: open_stage reads the model and the stage's data and builds the starting weights;
// run_stage_loop trains `steps` optimizer steps on batches drawn epoch by epoch in a seeded
// shuffle (stream_batch), appends one metrics.jsonl record per step and per evaluation, logs
// progress every kProgressEvery steps, commits the checkpoints of checkpoint_every, evaluates
// the held-out set before the first step and after the last, and exports RUN_DIR/final_model.
//
//   CARAVAN_ASSIGN_OR_RETURN(StageStart<TrainingSequence> start,
//                            open_stage<TrainingSequence>(config, run_dir, "sft", load_sft_data));
//   SftTrainer trainer(start.policy, config.sft, start.spec.tokenizer->pad_id());
//   return run_stage_loop(loop_options, start.output, start.policy, train_one_batch, evaluate_held_out);
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <ATen/Parallel.h>
#include <nlohmann/json.hpp>

#include "core/run_directory.h"
#include "core/status.h"
#include "learner/stage_data.h"
#include "learner/stage_options.h"
#include "learner/stage_output.h"
#include "model/llama.h"
#include "model/model_loader.h"

namespace caravan::learner {

// A stage ready to train: its model, data, output and starting weights.
template <class Example>
struct StageStart {
  model::ModelSpec spec;
  StageData<Example> data;
  StageOutput output;
  model::Llama policy;
};

// The loader of a stage's data (load_sft_data, load_preference_data; learner/stage_data.h).
template <class Example>
using StageDataLoader = Result<StageData<Example>> (*)(const core::TaskOptions&, const model::PromptEncoder&,
                                                       const core::TransformerConfig&);

// Sets [run] threads_per_process, opens [model], loads the data with `load` (recording its
// report in metrics.jsonl and logging it under `stage`) and builds the weights seeded by
// [run] seed. Errors: those of the model loader, `load` and the metrics write.
template <class Example>
Result<StageStart<Example>> open_stage(const StageOptions& config, const core::RunDirectory& run_dir,
                                       std::string_view stage, StageDataLoader<Example> load);

struct StageLoopOptions {
  // "sft" or "dpo": the phase of the step records ("sft"), of the evaluation records
  // ("sft_eval"), the progress event ("sft_progress") and the checkpoint manifests' stage.
  std::string stage;
  int64_t steps = 0;
  int64_t batch_size = 1;
  // 0 = no checkpoint before the final model.
  int64_t checkpoint_every = 0;
  uint64_t seed = 0;
  // The number of training examples the batches index (>= 1).
  size_t training_examples = 0;
};

// Trains one batch (indices into the training examples) and returns the step's metrics as a
// JSON object of numbers (the loop adds "phase" and "step").
using StageStepFn = std::function<Result<nlohmann::json>(const std::vector<size_t>& batch)>;
// Evaluates the held-out set, prints its result line saying `when` ("before", "after") and
// returns the metrics as a JSON object (the loop adds "phase" and "step").
using StageEvaluateFn = std::function<Result<nlohmann::json>(const char* when)>;

// Steps between progress log lines.
inline constexpr int64_t kProgressEvery = 10;

// The loop described above; `policy` is the model `step` trains (checkpointed and exported).
// Errors: the first of `step`, `evaluate` and the run directory's writes. Prints "final model:
// DIR" when done.
Status run_stage_loop(const StageLoopOptions& options, const StageOutput& output, model::Llama& policy,
                      const StageStepFn& step, const StageEvaluateFn& evaluate);

template <class Example>
Result<StageStart<Example>> open_stage(const StageOptions& config, const core::RunDirectory& run_dir,
                                       std::string_view stage, StageDataLoader<Example> load) {
  at::set_num_threads(static_cast<int>(config.run.threads_per_process));
  CARAVAN_ASSIGN_OR_RETURN(model::ModelSpec spec, model::open_model(config.model));
  CARAVAN_ASSIGN_OR_RETURN(StageData<Example> data, load(config.task, *spec.prompts, spec.config));
  StageOutput output(run_dir, spec);
  CARAVAN_RETURN_IF_ERROR(output.record(data.report.to_json()));
  data.report.log_summary(stage);
  CARAVAN_ASSIGN_OR_RETURN(model::Llama policy, model::load_model(spec, config.run.seed));
  return StageStart<Example>{
      .spec = std::move(spec), .data = std::move(data), .output = std::move(output), .policy = std::move(policy)};
}

} // namespace caravan::learner
