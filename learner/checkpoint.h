// File: learner/checkpoint.h
// Writes checkpoints/step-N/ of a run directory, atomically: everything is written into a
// staging directory beside it, fsynced, then renamed into place, so a crash leaves either no
// step-N or a complete one. Contents:
//   config.json, model.safetensors    a complete Hugging Face model directory (model/checkpoint_io.h):
//   (or shards), tokenizer files      with model::save_options(spec), the input checkpoint's
//                                     config.json keys, dtype and tokenizer files
//   optimizer.pt                      optimizer state (torch::save)
//   trainer_state.json                step, policy version
//   controller_state.json             the controller's state as it sent it (dataset cursor, ...)
//
//   CARAVAN_ASSIGN_OR_RETURN(std::filesystem::path dir,
//       write_checkpoint(run_dir, {.step = 10, .policy_version = 12, .controller_state = json}, model,
//                        spec.config, model::save_options(spec), &optimizer));
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>

#include <torch/optim/optimizer.h>

#include "core/run_directory.h"
#include "core/transformer_config.h"
#include "model/checkpoint_io.h"
#include "model/llama.h"

namespace caravan::learner {

struct CheckpointContents {
  int64_t step = 0;
  uint64_t policy_version = 0;
  // JSON text from the controller, stored verbatim.
  std::string controller_state;
};

// Returns the published directory. The model files are written by model::save_model with
// `model_options`. kFailedPrecondition if it already exists; kUnavailable on I/O errors (the
// staging directory is removed and nothing is published). `optimizer` may be null.
Result<std::filesystem::path> write_checkpoint(const core::RunDirectory& run_dir, const CheckpointContents& contents,
                                               model::Llama& model, const core::TransformerConfig& config,
                                               const model::SaveModelOptions& model_options,
                                               torch::optim::Optimizer* optimizer);

} // namespace caravan::learner
