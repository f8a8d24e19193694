// File: model/model_loader.h
// The one model loader of a run. A run's [model] section (ModelOptions) names either a
// Hugging Face checkpoint directory or an inline architecture; open_model() turns it into a
// ModelSpec, everything about the model but its weights (architecture, tokenizer, the prompt
// encoder with its stop ids, where it came from, dtypes), validating the whole directory so a
// checkpoint Caravan cannot represent fails at start, naming the file and key. load_model()
// then builds the weights: memory-mapped from the checkpoint (each byte read once, straight into
// the parameters) or seeded random ones for an inline model. Every role (controller, learner,
// rollout actors) and the offline commands (generate, eval) use these two functions.
//
//   CARAVAN_ASSIGN_OR_RETURN(model::ModelSpec spec, model::open_model(config.model));
//   CARAVAN_ASSIGN_OR_RETURN(model::Llama llama, model::load_model(spec, config.run.seed));
//   CARAVAN_ASSIGN_OR_RETURN(std::vector<int32_t> ids, spec.prompts->encode(task_prompt));
//   CARAVAN_RETURN_IF_ERROR(model::save_model(dir, llama, spec.config, model::save_options(spec)));
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <span>
#include <string>

#include <ATen/ATen.h>

#include "core/status.h"
#include "core/transformer_config.h"
#include "model/checkpoint_io.h"
#include "model/llama.h"
#include "model/model_options.h"
#include "model/prompt_encoder.h"
#include "model/tokenizer.h"

namespace caravan::model {

// A copyable value; the tokenizer and the encoder are shared and immutable.
struct ModelSpec {
  core::TransformerConfig config;
  std::shared_ptr<const Tokenizer> tokenizer;
  std::shared_ptr<const PromptEncoder> prompts;
  // The checkpoint directory; empty for an inline model.
  std::filesystem::path directory;
  // The checkpoint's config.json text (saved checkpoints keep its keys); empty for inline.
  std::string source_config_json;
  // dtype of every process's copy of the weights ([model] dtype).
  at::ScalarType compute_dtype = at::kFloat;
  // dtype of written checkpoints ([model] checkpoint_dtype; "auto" = the input's on-disk dtype).
  at::ScalarType checkpoint_dtype = at::kFloat;

  bool pretrained() const { return !directory.empty(); }
};

// Validates `options` and reads everything but the weights. For a checkpoint directory:
// config.json (model/checkpoint_io.h: unknown architecture, unsupported key, bad shapes),
// tokenizer.json (required; its ids must fit config.json's vocab_size), tokenizer_config.json and
// chat_template.jinja (special tokens, add_bos_token; the chat template must be a known family
// unless [model] chat_template names one), generation_config.json (eos_token_id list; every stop
// id inside the vocabulary) and the weights' presence and on-disk dtype. An inline model gets the
// byte tokenizer, no chat template unless [model] chat_template names one, and float32
// checkpoints for "auto".
// Errors (each naming the file and key, or the [model] key): kNotFound for a missing directory or
// file; kInvalidArgument for content Caravan cannot represent. Blocks on disk I/O.
Result<ModelSpec> open_model(const ModelOptions& options);

// The tokenizer and prompt encoder of the model directory `dir` alone, from tokenizer.json
// (required), tokenizer_config.json, chat_template.jinja and generation_config.json, with
// `options`' chat_template and enable_thinking; config.json is not read (its eos_token_id list,
// `fallback_eos`, is used when generation_config.json has none). open_model calls this; the
// tokenizer tools call it on tokenizer-only directories. Errors as open_model's.
Result<std::shared_ptr<const PromptEncoder>> open_prompt_encoder(const std::filesystem::path& dir,
                                                                 const ModelOptions& options,
                                                                 std::span<const int64_t> fallback_eos);

// The model of `spec` in spec.compute_dtype on the CPU: the checkpoint's weights (memory-mapped,
// copied once into the parameters) or, inline, weights drawn with torch::manual_seed(seed). Logs
// one line with the load time and the process's resident memory. Errors: those of
// load_model_weights (a tensor missing, misshapen or not in the model), naming the file.
Result<Llama> load_model(const ModelSpec& spec, uint64_t seed);

// How save_model writes a checkpoint of a model opened from `spec`: the input's tokenizer and
// generation files copied, its config.json keys kept, tensors in spec.checkpoint_dtype.
SaveModelOptions save_options(const ModelSpec& spec);

} // namespace caravan::model
