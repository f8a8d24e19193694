// File: model/tokenizer_config.h
// The prompt-side settings of a Hugging Face model directory that live beside tokenizer.json:
// the chat template (tokenizer_config.json "chat_template", or chat_template.jinja, which newer
// transformers versions write instead and which then wins), the special tokens by content
// (bos_token, eos_token, pad_token: strings or {"content": ...} objects) and add_bos_token.
// Unknown keys are ignored. No LibTorch.
//
//   CARAVAN_ASSIGN_OR_RETURN(model::TokenizerConfig tokenizer_config, model::read_tokenizer_config(dir));
//   if (!tokenizer_config.chat_template.empty()) {
//     CARAVAN_ASSIGN_OR_RETURN(ChatFormat format, detect_chat_format(tokenizer_config.chat_template,
//                                                                    tokenizer_config.chat_template_file));
//   }
#pragma once

#include <filesystem>
#include <optional>
#include <string>

#include "core/status.h"

namespace caravan::model {

inline constexpr const char* kTokenizerFile = "tokenizer.json";
inline constexpr const char* kTokenizerConfigFile = "tokenizer_config.json";
inline constexpr const char* kChatTemplateFile = "chat_template.jinja";

// A copyable value; fields are empty / nullopt where the files do not state them.
struct TokenizerConfig {
  // The Jinja chat template; empty when the model has none.
  std::string chat_template;
  // The file it came from (for error messages).
  std::string chat_template_file;
  // Contents of the special tokens ("<|im_end|>").
  std::string bos_token;
  std::string eos_token;
  std::string pad_token;
  // Whether `tokenizer(text)` prepends bos (slow-tokenizer setting that fast tokenizers honour).
  std::optional<bool> add_bos_token;
};

// Reads dir/tokenizer_config.json (all fields empty when it does not exist) and
// dir/chat_template.jinja (when present). A "chat_template" list of {"name", "template"} entries
// yields its "default" entry. Errors, naming the file and key: kInvalidArgument for invalid JSON,
// a non-object, a chat_template that is neither a string nor such a list (or a list without
// "default"), a special token that is neither a string, null nor an object with a string
// "content", or add_bos_token not a boolean; kUnavailable when a file exists but cannot be read.
Result<TokenizerConfig> read_tokenizer_config(const std::filesystem::path& dir);

} // namespace caravan::model
