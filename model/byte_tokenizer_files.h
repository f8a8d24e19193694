// File: model/byte_tokenizer_files.h
// The embedded byte tokenizer (model/byte_tokenizer.h) as Hugging Face tokenizer files, so a
// model directory written from an inline model is complete: it loads as another run's
// `[model] path` (model/model_loader.h) with the same token ids, and in `transformers`
// (AutoTokenizer). tokenizer.json is a byte-level BPE without merges whose vocabulary maps
// each byte's GPT-2 symbol to the byte's value, plus <|bos|> 256, <|eos|> 257, <|pad|> 258 as
// special added tokens; tokenizer_config.json names them and sets add_bos_token, as the inline
// model prefixes raw prompts with bos. One difference: the loaded tokenizer reads the literal
// text "<|eos|>" as the special token, where the byte tokenizer spells it byte by byte.
// No chat template is written; the next run names one with [model] chat_template.
//
//   CARAVAN_RETURN_IF_ERROR(model::save_model(dir, llama, spec.config, model::save_options(spec)));
//   if (!spec.pretrained()) CARAVAN_RETURN_IF_ERROR(model::write_byte_tokenizer_files(dir));
#pragma once

#include <filesystem>

#include <nlohmann/json.hpp>

#include "core/status.h"

namespace caravan::model {

// The tokenizer.json document described above.
nlohmann::json byte_tokenizer_json();

// Writes dir/tokenizer.json and dir/tokenizer_config.json atomically (`dir` must exist).
// kUnavailable on I/O errors, naming the file. Blocks on disk I/O.
Status write_byte_tokenizer_files(const std::filesystem::path& dir);

} // namespace caravan::model
