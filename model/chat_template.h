// File: model/chat_template.h
// Renders a conversation into the exact prompt text an instruct model was trained on, for
// three built-in families (no Jinja engine): Llama 3, ChatML (Qwen 2.5) and Tülu 3. The format
// is chosen by name in the config or detected from a model's tokenizer_config.json. The result
// also records which bytes belong to assistant turns, so SFT can train on the assistant's
// tokens only (tokenize_chat turns those byte spans into a 0/1 loss mask per token id).
// No LibTorch.
//
//   CARAVAN_ASSIGN_OR_RETURN(model::ChatFormat format,
//                            model::detect_chat_format(dir / "tokenizer_config.json"));
//   std::vector<model::ChatMessage> messages = {{"user", "2+2?"}, {"assistant", "4"}};
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

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/status.h"
#include "model/tokenizer.h"

namespace caravan::model {

// One turn of a conversation. role is "system", "user" or "assistant"; content is any bytes.
struct ChatMessage {
  std::string role;
  std::string content;
};

enum class ChatFormat {
  kLlama3,
  kChatMl,
  kTulu,
};

// "llama3", "chatml" or "tulu" (the config spelling, also what chat_format_name returns).
// Errors: kInvalidArgument naming the unknown name and the accepted ones.
Result<ChatFormat> chat_format_from_name(std::string_view name);
std::string_view chat_format_name(ChatFormat format);

// Reads the "chat_template" of a Hugging Face tokenizer_config.json (a string, or a list of
// {"name", "template"} entries, of which "default" is used) and recognises the family by a
// distinctive marker, checked in this order: "<|start_header_id|>" -> kLlama3,
// "<|im_start|>" -> kChatMl, "<|assistant|>" -> kTulu.
// Errors: kNotFound (naming the file) if it cannot be opened, has no chat_template, or the
// template matches no family; kInvalidArgument if it is not valid JSON or chat_template has
// the wrong type.
Result<ChatFormat> detect_chat_format(const std::filesystem::path& tokenizer_config_json);

struct ChatRenderOptions {
  // Append the header that makes the model answer as the assistant (inference/rollout prompts).
  bool add_generation_prompt = false;
  // kChatMl only: insert Qwen 2.5's default system message when the first message is not a
  // system message (what Qwen2.5-*-Instruct's template does). Off: plain ChatML.
  bool chatml_default_system = false;
  // kTulu only: the eos token ending each assistant turn.
  std::string tulu_eos_token = "<|end_of_text|>";
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
