// File: model/checkpoint_io.h
// Hugging Face-compatible model directories: `config.json` (the keys of LlamaForCausalLM,
// Qwen2ForCausalLM, Qwen3ForCausalLM or Olmo2ForCausalLM) plus either
// `model.safetensors` or shards `model-00001-of-0000N.safetensors` listed by
// `model.safetensors.index.json` ({"metadata": {"total_size": bytes}, "weight_map":
// {tensor: shard file}}), with the parameter names of model/llama.h, and optionally the
// tokenizer files. A directory written here loads in `transformers`
// (AutoModelForCausalLM.from_pretrained(dir)), and single-file or sharded checkpoints of
// these four architectures from the Hub load here. Special token ids (bos/eos/pad) and the RoPE
// keys travel in core::TransformerConfig; the other keys of the original config.json
// (initializer_range, transformers_version, ...) are kept when the caller passes that file as
// SaveModelOptions::base_config_json, so a trained checkpoint has the same keys as its input.
//
//   CARAVAN_RETURN_IF_ERROR(model::save_model(run_dir / "checkpoints/step-100", llama, config));
//   CARAVAN_RETURN_IF_ERROR(model::save_model(out_dir, llama, config,
//                                             {.max_shard_bytes = 2'000'000'000,
//                                              .copy_tokenizer_from = base_model_dir}));
//   CARAVAN_ASSIGN_OR_RETURN(core::TransformerConfig config, model::read_model_config(dir));
//   model::Llama llama(config);
//   CARAVAN_RETURN_IF_ERROR(model::load_model_weights(dir, llama));
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "core/transformer_config.h"
#include "model/llama.h"

namespace caravan::model {

// Names of the files of a model directory.
inline constexpr const char* kModelConfigFile = "config.json";
inline constexpr const char* kModelWeightsFile = "model.safetensors";
inline constexpr const char* kModelWeightsIndexFile = "model.safetensors.index.json";

// How save_model lays out a directory. A copyable value.
struct SaveModelOptions {
  // Largest shard in bytes of tensor data (> 0); Hugging Face's default "5GB". Tensors are
  // packed in named_parameters() order and a shard is closed before it would exceed this, so a
  // single tensor larger than this gets a shard of its own. Everything in one shard is written
  // as a plain model.safetensors with no index, as transformers does.
  int64_t max_shard_bytes = 5'000'000'000;
  // When non-empty, the tokenizer and generation files (tokenizer.json, tokenizer_config.json,
  // special_tokens_map.json, generation_config.json, chat_template.jinja, and a slow
  // tokenizer's vocab.json, merges.txt, added_tokens.json, tokenizer.model) are copied from this
  // directory where present (absent ones skipped).
  std::filesystem::path copy_tokenizer_from;
  // The config.json text of the checkpoint the model was loaded from. When non-empty, the
  // written config.json is that file with only its torch_dtype / dtype set to the saved dtype
  // (every other key and its layout, rope_parameters or rope_scaling, kept), and it must
  // describe `config` (CARAVAN_CHECK). Empty: the writer's own keys.
  std::string base_config_json = {};
  // dtype of the written tensors; nullopt = each parameter's own dtype.
  std::optional<at::ScalarType> dtype = std::nullopt;
};

// Writes dir/config.json and the weights (parameters in their dtype, named as in
// named_parameters()), single-file or sharded per `options`, plus the tokenizer files to copy.
// When `dir` does not exist, everything is written into "<dir>.staging" (cleared first) and
// published with core::publish_directory_atomically, so `dir` appears complete or not at all.
// When `dir` exists (e.g. a caller's own staging directory) each file is written atomically in
// place, and a weights layout left there by an earlier save (the single file, or the index and
// its shards) is removed so the directory holds one consistent layout.
// `config` must describe `model`'s parameters (CARAVAN_CHECK). config.json gets the
// architecture's class and model_type, every key its transformers config class needs (head_dim,
// attention_bias / use_sliding_window where the class has them), the RoPE keys in the layout they
// were read in (model/rope_config_json.h), torch_dtype from the parameters and config's token
// ids. Errors: kInvalidArgument for max_shard_bytes <= 0; kNotFound when copy_tokenizer_from is
// set but not a directory; kUnavailable for I/O failures (naming the file). On error a fresh
// `dir` is not created (the staging directory is removed). Blocks on disk I/O.
Status save_model(const std::filesystem::path& dir, Llama& model, const core::TransformerConfig& config,
                  const SaveModelOptions& options);
inline Status save_model(const std::filesystem::path& dir, Llama& model, const core::TransformerConfig& config) {
  return save_model(dir, model, config, SaveModelOptions{});
}

// Reads dir/config.json of a Llama, Qwen2, Qwen3 or OLMo 2 model. The architecture comes from
// "architectures" (the first supported class) or else "model_type" (Llama when neither is
// given); they must agree. RoPE settings are read from transformers 4's "rope_theta" +
// "rope_scaling" or transformers 5's "rope_parameters", any rope_type (model/rope_config_json.h,
// core/rope_spec.h). Missing optional keys take transformers' defaults (num_key_value_heads =
// num_attention_heads, head_dim = hidden_size / num_attention_heads, rope_theta = 10000,
// tie_word_embeddings = false, rms_norm_eps and max_position_embeddings per architecture);
// attention_dropout and other training-only keys are ignored. Errors: kNotFound (no file);
// kInvalidArgument naming the file and key for invalid JSON, a missing or ill-typed key, an
// unsupported architecture or model_type (or the two disagreeing), an unknown rope_type or a
// RoPE key missing, ill-typed or not read by its rope_type (e.g. "key 'rope_scaling.factor':
// required for rope_type \"yarn\""), hidden_act other than silu, attention_bias (except Qwen2)
// or mlp_bias true, use_sliding_window true or non-full-attention layer_types, ill-typed token
// ids, or an inconsistent shape (hidden_size % num_attention_heads != 0 without head_dim, odd
// head_dim, ...).
Result<core::TransformerConfig> read_model_config(const std::filesystem::path& dir);

// read_model_config for config.json text already in memory, read from `file` (which prefixes
// every error).
Result<core::TransformerConfig> parse_model_config(std::string_view json_text, const std::filesystem::path& file);

// Reads only what RoPE depends on from dir/config.json: "architectures" / "model_type" (for
// max_position_embeddings' default; may be absent), hidden_size, num_attention_heads, head_dim,
// max_position_embeddings and the RoPE keys (rope_theta, rope_scaling / rope_parameters,
// partial_rotary_factor, original_max_position_embeddings). Every other field of the result is
// TransformerConfig's default, so it describes no loadable model; core::resolve_rope(result)
// succeeds. Errors: those of read_model_config for these keys.
Result<core::TransformerConfig> read_rope_config(const std::filesystem::path& dir);

// Copies the weights of `dir` into `model`'s parameters, converting dtype (BF16, F16, F32 or
// F64 to the parameter's dtype) and keeping their device. When dir/model.safetensors.index.json
// exists its weight_map names the shard of every tensor; otherwise dir/model.safetensors is read.
// Shards are loaded one at a time, so peak host memory is about one shard.
// Errors, each naming the file and the tensor at fault: kNotFound for no weights file or a shard
// the index names that does not exist; kInvalidArgument for an invalid index, a tensor the index
// maps to a shard that lacks it, a tensor in a shard that the index does not map to it, a
// parameter missing, of another shape or not floating point, or a tensor the model does not
// have; any error of load_safetensors (truncated file, header lying about sizes). On error the
// model may be partially overwritten.
Status load_model_weights(const std::filesystem::path& dir, Llama& model);

// Writes `model`'s parameters, each in its own dtype (so nothing is rounded), as one
// safetensors file named as in named_parameters(), atomically. For state beside a model
// directory (a frozen reference model, full-precision weights of a checkpoint saved in a
// narrower dtype); a model directory's weights are written by save_model. Errors: those of
// save_safetensors (kUnavailable naming the file).
Status save_parameters_file(const std::filesystem::path& file, Llama& model);

// Copies every parameter of `model` from the safetensors `file` (as written by
// save_parameters_file; dtype converted where it differs). Errors, naming the file and the
// tensor: those of load_model_weights for one file, and kInvalidArgument for a parameter missing
// from the file. On error the model may be partially overwritten.
Status load_parameters_file(const std::filesystem::path& file, Llama& model);

// The safetensors files holding the weights of `dir`: the shards its index names (sorted), or
// dir/model.safetensors. Errors: kNotFound when neither the index nor model.safetensors exists;
// kInvalidArgument for an invalid index (naming it and the tensor at fault).
Result<std::vector<std::filesystem::path>> weight_files(const std::filesystem::path& dir);

// The floating-point dtype most of the parameters of `dir` are stored in, from the safetensors
// headers alone (no tensor data is read). Errors: those of weight_files and
// read_safetensors_header; kInvalidArgument when no tensor is floating point.
Result<at::ScalarType> stored_dtype(const std::filesystem::path& dir);

} // namespace caravan::model
