// File: model/model_options.h
// The model a run trains ([model]): a checkpoint directory or an inline architecture, dtypes, chat template.
// The run config (apps/run_config.h) holds one; apps/run_config_reader.cpp fills it from TOML.
#pragma once

#include <string>

#include "core/transformer_config.h"

namespace caravan::model {

// [model]: the model a run trains: a Hugging Face checkpoint directory (`path`) or, for the
// embedded quickstart, an architecture given inline (the keys of core::TransformerConfig) with
// random weights and the byte tokenizer. Exactly one of the two (apps/run_config_reader.cpp checks it).
struct ModelOptions {
  // A Hugging Face model directory: config.json, model.safetensors (or shards with their
  // index), tokenizer.json, tokenizer_config.json (chat template, special tokens) and optionally
  // generation_config.json. `caravan run` records it as an absolute path. Empty = inline.
  std::string path;
  // Compute dtype of every process's copy of the model: "float32" or "bfloat16".
  std::string dtype = "float32";
  // dtype of the safetensors in written checkpoints: "auto" (the input checkpoint's dtype;
  // float32 for an inline model), "float32", "bfloat16" or "float16".
  std::string checkpoint_dtype = "auto";
  // A built-in chat template family used instead of the checkpoint's own: "llama3", "chatml",
  // "qwen3" or "tulu" (model/chat_template.h). Empty = recognise the checkpoint's template. An
  // inline model has no template of its own, so chat prompts ([task] kind = "rlvr") need one.
  std::string chat_template;
  // Chat templates with a thinking switch (Qwen3): render the generation prompt with thinking
  // on (true, the template's default) or off (false: an empty <think></think> block).
  bool enable_thinking = true;
  // The inline architecture; only read when `path` is empty.
  core::TransformerConfig inline_config;
};

} // namespace caravan::model
