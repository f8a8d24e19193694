// File: model/prompt_encoder.h
// The one prompt path of a run: turns a prompt into the token ids the model sees, and says which
// ids end a completion. Chat prompts (a dataset row's messages) are rendered with the model's
// chat template and its generation prompt (model/chat_template.h) and encoded without adding
// anything: the template carries its own special tokens. Raw prompts ("37+45=", a
// `caravan generate` {"prompt": ...} row) are encoded as `tokenizer(text)` does: the
// tokenizer's prefix (Llama 3's <|begin_of_text|>, the byte tokenizer's bos) then the text.
// Every role uses the ids this produces; nothing re-tokenizes decoded text. No LibTorch.
//
//   PromptEncoder encoder(tokenizer, {.chat_format = ChatFormat::kQwen3, .text_prefix = {},
//                                     .stop_ids = {151645, 151643}});
//   CARAVAN_ASSIGN_OR_RETURN(std::vector<int32_t> ids, encoder.encode(task_prompt));
//   generate(model, ids, {.stop_ids = encoder.stop_ids()});
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/chat_message.h"
#include "core/status.h"
#include "core/task_prompt.h"
#include "model/chat_template.h"
#include "model/tokenizer.h"

namespace caravan::model {

// How a model wants its prompts. A copyable value.
struct PromptFormat {
  // The model's chat template family; nullopt when it has none (chat prompts are then an error).
  std::optional<ChatFormat> chat_format;
  // Template options (enable_thinking, the Tülu eos token); add_generation_prompt is always set
  // by the encoder.
  ChatRenderOptions render;
  // Special ids put before a raw prompt's text.
  std::vector<int32_t> text_prefix;
  // Every id that ends a completion, the model's end of turn first (the id an SFT answer ends
  // with). Non-empty.
  std::vector<int32_t> stop_ids;
  // Where the chat template came from, or why there is none (for error messages).
  std::string chat_template_origin;
};

// Immutable after construction; thread-safe. Share as std::shared_ptr<const PromptEncoder>.
class PromptEncoder {
 public:
  // `format.stop_ids` must be non-empty and every id below tokenizer->vocab_size() (CARAVAN_CHECK:
  // model::open_model validates them first).
  PromptEncoder(std::shared_ptr<const Tokenizer> tokenizer, PromptFormat format);

  // A TaskPrompt's ids: its messages through encode_chat, or else its text through encode_text.
  Result<std::vector<int32_t>> encode(const core::TaskPrompt& prompt) const;
  // The chat template's rendering of `messages` with the generation prompt, encoded.
  // Errors: kFailedPrecondition when the model has no chat template (naming chat_template_origin);
  // kInvalidArgument from render_chat (no messages, an unknown role).
  Result<std::vector<int32_t>> encode_chat(std::span<const core::ChatMessage> messages) const;
  // A conversation to train on (SFT, DPO): the chat template's rendering of `messages` without
  // a generation prompt, encoded with a loss mask that is 1 exactly on the tokens of the
  // assistant turns at index >= trained_from (their content and end-of-turn marker,
  // model/chat_template.h) and 0 on everything else (other turns, role headers).
  // Errors: as encode_chat's.
  Result<TokenizedChat> encode_conversation(std::span<const core::ChatMessage> messages, size_t trained_from) const;
  // text_prefix + the ids of `text`.
  std::vector<int32_t> encode_text(std::string_view text) const;
  // What the model should generate after a prompt to answer `answer`: its ids and the end of
  // turn (SFT targets).
  std::vector<int32_t> encode_answer(std::string_view answer) const;

  // Every id that ends a completion; the first is the end of turn.
  const std::vector<int32_t>& stop_ids() const { return format_.stop_ids; }
  const PromptFormat& format() const { return format_; }
  const Tokenizer& tokenizer() const { return *tokenizer_; }
  const std::shared_ptr<const Tokenizer>& shared_tokenizer() const { return tokenizer_; }

  // encode() as a core::PromptEncodeFn for prompt sources. The function refers to this
  // encoder, which must outlive it.
  core::PromptEncodeFn as_encode_fn() const;

 private:
  std::shared_ptr<const Tokenizer> tokenizer_;
  PromptFormat format_;
};

} // namespace caravan::model
