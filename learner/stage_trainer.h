// File: learner/stage_trainer.h
// What a stage before RL plugs into the stage loop (learner/stage_loop.h): its data, its
// trainer's step and its held-out evaluation. The SFT stage (learner/sft_stage.h) and the DPO
// stage (learner/dpo_stage.h) implement it; the loop owns everything they share: the batch
// order, checkpoints, resume, progress lines, metrics.jsonl and the final model.
//
//   CARAVAN_ASSIGN_OR_RETURN(std::unique_ptr<StageTrainer> stage, open_sft_stage(config, spec, policy));
//   CARAVAN_ASSIGN_OR_RETURN(nlohmann::json metrics, stage->step(stream_batch(...)));
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <torch/optim/optimizer.h>

#include "core/status.h"
#include "learner/stage_data.h"

namespace caravan::learner {

// What the loop needs to know of a stage; fixed once the stage is open.
struct StageDescription {
  // "sft" or "dpo": the phase of the step records ("sft"), of the evaluation records
  // ("sft_eval"), the progress event ("sft_progress") and the checkpoints' "stage".
  std::string name;
  // From the stage's options section: optimizer steps (>= 1), examples per step (>= 1), and a
  // checkpoint every this many steps (0 = none before the final model).
  int64_t steps = 0;
  int64_t batch_size = 1;
  int64_t checkpoint_every = 0;
  // The training examples the batches index (>= 1).
  size_t training_examples = 0;
  // The stage's options that change what it trains (learning rate, warm-up, beta, ...; not how
  // it batches: micro_batch_tokens and pack_sequences give the same loss), as {"key": value}: a
  // checkpoint records them and resume refuses a run that gives others.
  nlohmann::json settings;
  // The data's report (a metrics.jsonl record and log lines; learner/stage_data.h).
  StageDataReport data_report;
};

// Not thread-safe: the stage loop's thread calls every method.
class StageTrainer {
 public:
  virtual ~StageTrainer() = default;

  virtual const StageDescription& description() const = 0;
  // One optimizer step on the training examples of `batch` (indices < training_examples);
  // returns the step's metrics as a JSON object of numbers. Errors are the trainer's (a bad
  // example, a non-finite gradient).
  virtual Result<nlohmann::json> step(const std::vector<size_t>& batch) = 0;
  // Evaluates the held-out set under the current weights, prints its result line saying `when`
  // ("before", "after") and returns the metrics as a JSON object of numbers.
  virtual Result<nlohmann::json> evaluate(const char* when) = 0;
  // The optimizer whose state a checkpoint keeps.
  virtual torch::optim::Optimizer& optimizer() = 0;
  // Sets the learning-rate schedule's position: `steps` optimizer steps are done (resume).
  virtual void restore_steps_done(int64_t steps) = 0;
};

// The examples of `batch` (indices into `examples`), in its order.
template <class Example>
std::vector<Example> select_examples(const std::vector<Example>& examples, const std::vector<size_t>& batch) {
  std::vector<Example> selected;
  selected.reserve(batch.size());
  for (size_t index : batch) selected.push_back(examples.at(index));
  return selected;
}

} // namespace caravan::learner
