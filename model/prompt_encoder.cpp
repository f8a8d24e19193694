#include "model/prompt_encoder.h"

#include <algorithm>

namespace caravan::model {

PromptEncoder::PromptEncoder(std::shared_ptr<const Tokenizer> tokenizer, PromptFormat format)
    : tokenizer_(std::move(tokenizer)), format_(std::move(format)) {
  CARAVAN_CHECK(tokenizer_ != nullptr, "PromptEncoder needs a tokenizer");
  CARAVAN_CHECK(!format_.stop_ids.empty(), "PromptEncoder needs at least one stop id");
  for (int32_t id : format_.stop_ids) {
    CARAVAN_CHECK(id >= 0 && id < tokenizer_->vocab_size(), "stop id ", id, " is outside the tokenizer's vocabulary");
  }
  format_.render.add_generation_prompt = true;
}

Result<std::vector<int32_t>> PromptEncoder::encode(const core::TaskPrompt& prompt) const {
  if (prompt.messages.empty()) return encode_text(prompt.text);
  return encode_chat(prompt.messages);
}

Result<std::vector<int32_t>> PromptEncoder::encode_chat(std::span<const core::ChatMessage> messages) const {
  if (!format_.chat_format) {
    return Status::failed_precondition(
        str_cat("chat prompt, but the model has no chat template (", format_.chat_template_origin, ")"));
  }
  CARAVAN_ASSIGN_OR_RETURN(const RenderedChat chat, render_chat(*format_.chat_format, messages, format_.render));
  return tokenizer_->encode(chat.text);
}

Result<TokenizedChat> PromptEncoder::encode_conversation(std::span<const core::ChatMessage> messages,
                                                        size_t trained_from) const {
  if (!format_.chat_format) {
    return Status::failed_precondition(
        str_cat("chat conversation, but the model has no chat template (", format_.chat_template_origin, ")"));
  }
  ChatRenderOptions options = format_.render;
  options.add_generation_prompt = false;
  CARAVAN_ASSIGN_OR_RETURN(RenderedChat chat, render_chat(*format_.chat_format, messages, options));
  // Every template renders one span per assistant message, in order: drop the spans of the
  // assistant turns before `trained_from`.
  const auto untrained = static_cast<size_t>(
      std::count_if(messages.begin(), messages.begin() + static_cast<std::ptrdiff_t>(std::min(trained_from, messages.size())),
                    [](const core::ChatMessage& message) { return message.role == "assistant"; }));
  CARAVAN_CHECK(untrained <= chat.assistant_spans.size(), "chat template rendered ", chat.assistant_spans.size(),
                " assistant spans for at least ", untrained, " assistant turns");
  chat.assistant_spans.erase(chat.assistant_spans.begin(),
                             chat.assistant_spans.begin() + static_cast<std::ptrdiff_t>(untrained));
  return tokenize_chat(*tokenizer_, chat);
}

std::vector<int32_t> PromptEncoder::encode_text(std::string_view text) const {
  std::vector<int32_t> ids = format_.text_prefix;
  const std::vector<int32_t> text_ids = tokenizer_->encode(text);
  ids.insert(ids.end(), text_ids.begin(), text_ids.end());
  return ids;
}

std::vector<int32_t> PromptEncoder::encode_answer(std::string_view answer) const {
  std::vector<int32_t> ids = tokenizer_->encode(answer);
  ids.push_back(format_.stop_ids.front());
  return ids;
}

core::PromptEncodeFn PromptEncoder::as_encode_fn() const {
  return [this](const core::TaskPrompt& prompt) { return encode(prompt); };
}

} // namespace caravan::model
