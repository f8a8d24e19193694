// File: learner/stage_output.h
// What an SFT or DPO stage leaves in its run directory (core/run_directory.h), the same layout
// as an RL run's: metrics.jsonl records, committed checkpoints/step-N/ holding the model as a
// Hugging Face directory and the training state resume needs (learner/checkpoint.h,
// write_stage_state), and RUN_DIR/final_model, the model the next stage (or an RLVR run)
// takes as [model] path. A model born inline gets the byte tokenizer's files
// (model/byte_tokenizer_files.h) so that its directory is complete.
//
//   StageOutput output(run_dir, spec);
//   CARAVAN_RETURN_IF_ERROR(output.record({{"phase", "sft"}, {"step", 1}, {"loss", 2.3}}));
//   CARAVAN_RETURN_IF_ERROR(output.checkpoint(100, policy, optimizer, {{"stage", "sft"}, {"step", 100}}));
//   CARAVAN_ASSIGN_OR_RETURN(std::filesystem::path final_dir, output.export_final(policy));
#pragma once

#include <cstdint>
#include <filesystem>

#include <nlohmann/json.hpp>
#include <torch/optim/optimizer.h>

#include "core/run_directory.h"
#include "core/status.h"
#include "model/llama.h"
#include "model/model_loader.h"

namespace caravan::learner {

// The final model's directory inside the run directory (as an RL run's).
inline constexpr const char* kStageFinalModelDirectory = "final_model";

// Not thread-safe; one owner.
class StageOutput {
 public:
  StageOutput(core::RunDirectory run_dir, model::ModelSpec spec) : run_dir_(std::move(run_dir)), spec_(std::move(spec)) {}

  // Appends `record` to metrics.jsonl. kUnavailable on I/O errors.
  Status record(const nlohmann::json& record) const;
  // Writes checkpoints/step-N/ (core/checkpoints.h) holding `policy` as a model directory and
  // the training state (`optimizer`, the RNG, `state` as stage_state.json) and commits it with
  // the manifest {"step": N, "stage": state["stage"]}. Errors naming the directory or file.
  Status checkpoint(int64_t step, model::Llama& policy, torch::optim::Optimizer& optimizer,
                    const nlohmann::json& state) const;
  // Writes RUN_DIR/final_model atomically (complete or absent); returns its path.
  // kFailedPrecondition if it exists; kUnavailable on I/O errors.
  Result<std::filesystem::path> export_final(model::Llama& policy) const;

 private:
  // The model directory's files into the existing `dir`.
  Status write_model(const std::filesystem::path& dir, model::Llama& policy) const;

  core::RunDirectory run_dir_;
  model::ModelSpec spec_;
};

} // namespace caravan::learner
