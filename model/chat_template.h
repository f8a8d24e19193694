// File: model/chat_template.h
// Renders a conversation into the exact prompt text an instruct model was trained on, for
// four built-in families (no Jinja engine): Llama 3, ChatML (Qwen 2.5), Qwen3 and Tülu 3. The
// format is chosen by name or detected from a model's chat template (model/tokenizer_config.h).
// The result
// also records which bytes belong to assistant turns, so SFT can train on the assistant's
// tokens only (tokenize_chat turns those byte spans into a 0/1 loss mask per token id).
// No LibTorch.
//
//   CARAVAN_ASSIGN_OR_RETURN(model::ChatFormat format,
//                            model::detect_chat_format(tokenizer_config.chat_template, "tokenizer_config.json"));
//   std::vector<core::ChatMessage> messages = {{"user", "2+2?"}, {"assistant", "4"}};
//   CARAVAN_ASSIGN_OR_RETURN(model::RenderedChat chat, model::render_chat(format, messages, {}));
//   CARAVAN_ASSIGN_OR_RETURN(model::TokenizedChat tokens, model::tokenize_chat(*tokenizer, chat));
//   // tokens.loss_mask[i] == 1 exactly for the ids of "4" and the end-of-turn token.
//
// Rendered strings (what the Hugging Face templates produce for plain text messages):
//  - kLlama3 (Meta-Llama-3-8B-Instruct):
//      "<|begin_of_text|>" then per message
//      "<|start_header_id|>{role}<|end_header_id|>\n\n{content, trimmed}<|eot_id|>";
//      generation prompt "<|start_header_id|>assistant<|end_header_id|>\n\n".
//    Simplification: the Llama 3.1 template additionally always renders a system block holding
//    "Cutting Knowledge Date: December 2023\nToday Date: 26 Jul 2024\n\n" before the system
//    message (and tool/ipython sections). That preamble is NOT rendered; the text matches the
//    Llama 3 (3.0) template exactly. Trimming strips ASCII whitespace only (Jinja's |trim also
//    strips Unicode whitespace such as U+00A0).
//  - kChatMl (Qwen2.5-7B-Instruct without tools): per message
//      "<|im_start|>{role}\n{content}<|im_end|>\n"; generation prompt "<|im_start|>assistant\n".
//    Qwen 2.5 inserts "<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a
//    helpful assistant.<|im_end|>\n" when the first message is not a system message; that is
//    ChatRenderOptions::chatml_default_system (default off, i.e. plain ChatML).
//  - kQwen3 (Qwen/Qwen3-0.6B and the other Qwen3 hybrid-thinking models, without tools): ChatML
//    where a first system message is rendered first and an assistant message holding
//    "</think>" is split into reasoning (after the last "<think>" before the first "</think>",
//    newlines stripped) and content (after the last "</think>", leading newlines stripped).
//    Assistant turns after the last user turn are rendered as
//    "<|im_start|>assistant\n<think>\n{reasoning}\n</think>\n\n{content}<|im_end|>\n" when they are
//    the last message or have reasoning; every other assistant turn loses its reasoning:
//    "<|im_start|>assistant\n{content}<|im_end|>\n". Generation prompt "<|im_start|>assistant\n",
//    followed by "<think>\n\n</think>\n\n" when ChatRenderOptions::enable_thinking is false
//    (the template's enable_thinking=False).
//  - kTulu (allenai/Llama-3.1-Tulu-3-8B, also OLMo 2 Instruct): "<|system|>\n{content}\n",
//    "<|user|>\n{content}\n", "<|assistant|>\n{content}{eos}\n" where the trailing "\n" is
//    omitted after the LAST message (as in the official template); generation prompt
//    "<|assistant|>\n". {eos} is ChatRenderOptions::tulu_eos_token: "<|end_of_text|>" for
//    Llama-3.1-Tulu-3 (its eos_token), "<|endoftext|>" for OLMo 2. The template emits no BOS
//    (nor does this function).
//
// Assistant spans cover the assistant's content plus its end-of-turn marker ("<|eot_id|>",
// "<|im_end|>", the eos token), which the model must learn to emit; role headers and the
// newline after the marker are outside.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/chat_message.h"
#include "core/status.h"
#include "model/tokenizer.h"

namespace caravan::model {

using core::ChatMessage;

enum class ChatFormat {
  kLlama3,
  kChatMl,
  kQwen3,
  kTulu,
};
inline constexpr std::array<ChatFormat, 4> kAllChatFormats = {ChatFormat::kLlama3, ChatFormat::kChatMl,
                                                              ChatFormat::kQwen3, ChatFormat::kTulu};

// "llama3", "chatml", "qwen3" or "tulu" (the config spelling, also what chat_format_name returns).
// Errors: kInvalidArgument naming the unknown name and the accepted ones.
Result<ChatFormat> chat_format_from_name(std::string_view name);
std::string_view chat_format_name(ChatFormat format);

// Recognises the family of a Jinja chat template by a distinctive marker, checked in this
// order: "<|start_header_id|>" -> kLlama3; "<|im_start|>" -> kQwen3 if the template reads
// "enable_thinking", else kChatMl; "<|assistant|>" -> kTulu.
// Errors: kInvalidArgument naming `source` (the file the template came from) when no family
// matches.
Result<ChatFormat> detect_chat_format(std::string_view chat_template, std::string_view source);

struct ChatRenderOptions {
  // Append the header that makes the model answer as the assistant (inference/rollout prompts).
  bool add_generation_prompt = false;
  // kChatMl only: insert Qwen 2.5's default system message when the first message is not a
  // system message (what Qwen2.5-*-Instruct's template does). Off: plain ChatML.
  bool chatml_default_system = false;
  // kTulu only: the eos token ending each assistant turn.
  std::string tulu_eos_token = "<|end_of_text|>";
  // kQwen3 only: false renders the generation prompt with an empty thinking block.
  bool enable_thinking = true;
};

struct RenderedChat {
  std::string text;
  // Half-open byte ranges [begin, end) of `text` that belong to assistant turns, sorted and
  // non-overlapping.
  std::vector<std::pair<size_t, size_t>> assistant_spans;
};

// Renders `messages` in `format` (see the file comment for the exact strings). Any role order
// is accepted, as by the official templates.
// Errors: kInvalidArgument if `messages` is empty, or naming the index and role of the first
// message whose role is not "system", "user" or "assistant".
// Thread-safe (pure function).
Result<RenderedChat> render_chat(ChatFormat format, std::span<const ChatMessage> messages,
                                 const ChatRenderOptions& options);

struct TokenizedChat {
  std::vector<int32_t> ids;
  // Parallel to ids: 1 for a token inside an assistant span (train on it), 0 otherwise.
  std::vector<uint8_t> loss_mask;
};

// Encodes `chat.text` segment by segment, cutting at every span boundary, so that no token
// straddles a boundary and each token's mask is exact. Adds no BOS/EOS beyond what the text
// holds (the special tokens in the template text become added tokens with model::BpeTokenizer).
// Piecewise encoding equals whole-text encoding whenever the cuts fall on pre-token boundaries,
// which holds for the three templates above when an assistant message does not start with
// whitespace: each span starts right after the header's newline and ends right after a special
// token. (Content starting with "\n" may pre-tokenize differently from the whole text: the
// header's "\n" is then not merged with it. Training still sees valid ids for the same bytes.)
// Errors: kInvalidArgument if the spans are unsorted, overlapping or outside the text.
// Thread-safe if `tokenizer` is (every model::Tokenizer is).
Result<TokenizedChat> tokenize_chat(const Tokenizer& tokenizer, const RenderedChat& chat);

} // namespace caravan::model
