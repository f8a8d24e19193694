// File: model/checkpoint_io.h
// Hugging Face-compatible model directories: `config.json` (LlamaForCausalLM keys) plus
// `model.safetensors` with the parameter names of model/llama.h. A directory written here
// loads in `transformers` (AutoModelForCausalLM.from_pretrained(dir)), and single-file Llama
// checkpoints from the Hub load here.
//
//   CARAVAN_RETURN_IF_ERROR(model::save_model(run_dir / "checkpoints/step-100", llama, config));
//   CARAVAN_ASSIGN_OR_RETURN(core::TransformerConfig config, model::read_model_config(dir));
//   model::Llama llama(config);
//   CARAVAN_RETURN_IF_ERROR(model::load_model_weights(dir, llama));
#pragma once

#include <filesystem>

#include "core/status.h"
#include "core/transformer_config.h"
#include "model/llama.h"

namespace caravan::model {

// Writes dir/config.json and dir/model.safetensors (parameters in their dtype, named as in
// named_parameters()), each atomically; creates `dir` if needed. `config` must be the one
// `model` was built from (CARAVAN_CHECK). The token ids in config.json are the ByteTokenizer's.
// Errors: kUnavailable for I/O failures (naming the file). Blocks on disk I/O.
Status save_model(const std::filesystem::path& dir, Llama& model, const core::TransformerConfig& config);

// Reads dir/config.json. Missing optional keys take Hugging Face's defaults
// (num_key_value_heads = num_attention_heads, rope_theta = 10000, tie_word_embeddings = false).
// Errors: kNotFound (no file); kInvalidArgument naming the file and key for invalid JSON, a
// missing or ill-typed key, a model_type other than "llama", rope_scaling (not supported yet),
// or an inconsistent architecture (hidden_size % num_attention_heads != 0, ...).
Result<core::TransformerConfig> read_model_config(const std::filesystem::path& dir);

// Copies dir/model.safetensors into `model`'s parameters (converting dtype, keeping device).
// Errors (naming the tensor): kInvalidArgument when a parameter is missing, has another shape,
// is not floating point, or the file holds a tensor the model does not have; any error of
// load_safetensors. On error the model may be partially overwritten.
Status load_model_weights(const std::filesystem::path& dir, Llama& model);

} // namespace caravan::model
