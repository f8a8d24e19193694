#include "model/chat_template.h"

namespace caravan::model {
namespace {

constexpr std::string_view kQwenDefaultSystem =
    "You are Qwen, created by Alibaba Cloud. You are a helpful assistant.";

// Jinja's |trim, restricted to ASCII whitespace.
std::string_view trim(std::string_view text) {
  constexpr std::string_view kSpace = " \t\n\r\f\v";
  const size_t begin = text.find_first_not_of(kSpace);
  if (begin == std::string_view::npos) return {};
  const size_t end = text.find_last_not_of(kSpace);
  return text.substr(begin, end - begin + 1);
}

// Appends pieces to a RenderedChat, recording assistant spans.
class ChatWriter {
 public:
  void add(std::string_view piece) { chat_.text.append(piece); }
  // Appends `content` then `end_marker` as one assistant span.
  void add_assistant(std::string_view content, std::string_view end_marker) {
    const size_t begin = chat_.text.size();
    chat_.text.append(content);
    chat_.text.append(end_marker);
    chat_.assistant_spans.emplace_back(begin, chat_.text.size());
  }
  RenderedChat finish() && { return std::move(chat_); }

 private:
  RenderedChat chat_;
};

void render_llama3(std::span<const ChatMessage> messages, bool add_generation_prompt, ChatWriter& out) {
  out.add("<|begin_of_text|>");
  for (const ChatMessage& message : messages) {
    out.add("<|start_header_id|>");
    out.add(message.role);
    out.add("<|end_header_id|>\n\n");
    if (message.role == "assistant") {
      out.add_assistant(trim(message.content), "<|eot_id|>");
    } else {
      out.add(trim(message.content));
      out.add("<|eot_id|>");
    }
  }
  if (add_generation_prompt) out.add("<|start_header_id|>assistant<|end_header_id|>\n\n");
}

void render_chatml(std::span<const ChatMessage> messages, const ChatRenderOptions& options, ChatWriter& out) {
  if (options.chatml_default_system && messages.front().role != "system") {
    out.add("<|im_start|>system\n");
    out.add(kQwenDefaultSystem);
    out.add("<|im_end|>\n");
  }
  for (const ChatMessage& message : messages) {
    out.add("<|im_start|>");
    out.add(message.role);
    out.add("\n");
    if (message.role == "assistant") {
      out.add_assistant(message.content, "<|im_end|>");
    } else {
      out.add(message.content);
      out.add("<|im_end|>");
    }
    out.add("\n");
  }
  if (options.add_generation_prompt) out.add("<|im_start|>assistant\n");
}

// Python's str.strip / lstrip / rstrip with the character set "\n".
std::string_view lstrip_newlines(std::string_view text) {
  const size_t begin = text.find_first_not_of('\n');
  return begin == std::string_view::npos ? std::string_view() : text.substr(begin);
}
std::string_view rstrip_newlines(std::string_view text) {
  const size_t end = text.find_last_not_of('\n');
  return end == std::string_view::npos ? std::string_view() : text.substr(0, end + 1);
}

// An assistant message split as the Qwen3 template does when it holds "</think>": the reasoning
// is what lies between the last "<think>" before the first "</think>" and that "</think>"; the
// content is what follows the last "</think>".
struct QwenAssistantTurn {
  std::string_view reasoning;
  std::string_view content;
};
QwenAssistantTurn split_reasoning(std::string_view text) {
  constexpr std::string_view kOpen = "<think>";
  constexpr std::string_view kClose = "</think>";
  const size_t first_close = text.find(kClose);
  if (first_close == std::string_view::npos) return {{}, text};
  std::string_view reasoning = rstrip_newlines(text.substr(0, first_close));
  if (const size_t open = reasoning.rfind(kOpen); open != std::string_view::npos) {
    reasoning = reasoning.substr(open + kOpen.size());
  }
  return {lstrip_newlines(reasoning), lstrip_newlines(text.substr(text.rfind(kClose) + kClose.size()))};
}

// The Qwen3 template without tools (Qwen/Qwen3-0.6B tokenizer_config.json), see the header.
void render_qwen3(std::span<const ChatMessage> messages, const ChatRenderOptions& options, ChatWriter& out) {
  if (messages.front().role == "system") {
    out.add("<|im_start|>system\n");
    out.add(messages.front().content);
    out.add("<|im_end|>\n");
  }
  // The last user turn that is not a tool response (the template's ns.last_query_index).
  size_t last_query = messages.size() - 1;
  for (size_t index = messages.size(); index-- > 0;) {
    const std::string_view content = messages[index].content;
    const bool tool_response = content.starts_with("<tool_response>") && content.ends_with("</tool_response>");
    if (messages[index].role == "user" && !tool_response) {
      last_query = index;
      break;
    }
  }
  for (size_t index = 0; index < messages.size(); ++index) {
    const ChatMessage& message = messages[index];
    if (message.role != "assistant") {
      if (message.role == "system" && index == 0) continue;  // rendered above
      out.add("<|im_start|>");
      out.add(message.role);
      out.add("\n");
      out.add(message.content);
      out.add("<|im_end|>\n");
      continue;
    }
    const QwenAssistantTurn turn = split_reasoning(message.content);
    out.add("<|im_start|>assistant\n");
    const bool last = index + 1 == messages.size();
    std::string body;
    if (index > last_query && (last || !turn.reasoning.empty())) {
      body = str_cat("<think>\n", lstrip_newlines(rstrip_newlines(turn.reasoning)), "\n</think>\n\n",
                     lstrip_newlines(turn.content));
    } else {
      body = std::string(turn.content);
    }
    out.add_assistant(body, "<|im_end|>");
    out.add("\n");
  }
  if (options.add_generation_prompt) {
    out.add("<|im_start|>assistant\n");
    if (!options.enable_thinking) out.add("<think>\n\n</think>\n\n");
  }
}

void render_tulu(std::span<const ChatMessage> messages, const ChatRenderOptions& options, ChatWriter& out) {
  for (size_t index = 0; index < messages.size(); ++index) {
    const ChatMessage& message = messages[index];
    if (message.role == "assistant") {
      out.add("<|assistant|>\n");
      out.add_assistant(message.content, options.tulu_eos_token);
      // The official template drops the newline after the last assistant message only.
      if (index + 1 < messages.size()) out.add("\n");
    } else {
      out.add(message.role == "system" ? "<|system|>\n" : "<|user|>\n");
      out.add(message.content);
      out.add("\n");
    }
  }
  if (options.add_generation_prompt) out.add("<|assistant|>\n");
}

} // namespace

Result<ChatFormat> chat_format_from_name(std::string_view name) {
  for (ChatFormat format : kAllChatFormats) {
    if (name == chat_format_name(format)) return format;
  }
  return Status::invalid_argument(
      str_cat("unknown chat format \"", name, "\" (expected \"llama3\", \"chatml\", \"qwen3\" or \"tulu\")"));
}

std::string_view chat_format_name(ChatFormat format) {
  switch (format) {
    case ChatFormat::kLlama3:
      return "llama3";
    case ChatFormat::kChatMl:
      return "chatml";
    case ChatFormat::kQwen3:
      return "qwen3";
    case ChatFormat::kTulu:
      return "tulu";
  }
  CARAVAN_CHECK(false, "bad ChatFormat ", static_cast<int>(format));
  return {};
}

Result<ChatFormat> detect_chat_format(std::string_view chat_template, std::string_view source) {
  if (chat_template.find("<|start_header_id|>") != std::string_view::npos) return ChatFormat::kLlama3;
  if (chat_template.find("<|im_start|>") != std::string_view::npos) {
    return chat_template.find("enable_thinking") != std::string_view::npos ? ChatFormat::kQwen3 : ChatFormat::kChatMl;
  }
  if (chat_template.find("<|assistant|>") != std::string_view::npos) return ChatFormat::kTulu;
  return Status::invalid_argument(
      str_cat(source, ": chat_template matches no known format (llama3, chatml, qwen3, tulu)"));
}

Result<RenderedChat> render_chat(ChatFormat format, std::span<const ChatMessage> messages,
                                 const ChatRenderOptions& options) {
  if (messages.empty()) return Status::invalid_argument("render_chat: conversation has no messages");
  for (size_t index = 0; index < messages.size(); ++index) {
    const std::string& role = messages[index].role;
    if (role != "system" && role != "user" && role != "assistant") {
      return Status::invalid_argument(str_cat("render_chat: messages[", index, "]: unknown role \"", role,
                                              "\" (expected system, user or assistant)"));
    }
  }
  ChatWriter out;
  switch (format) {
    case ChatFormat::kLlama3:
      render_llama3(messages, options.add_generation_prompt, out);
      break;
    case ChatFormat::kChatMl:
      render_chatml(messages, options, out);
      break;
    case ChatFormat::kQwen3:
      render_qwen3(messages, options, out);
      break;
    case ChatFormat::kTulu:
      render_tulu(messages, options, out);
      break;
  }
  return std::move(out).finish();
}

Result<TokenizedChat> tokenize_chat(const Tokenizer& tokenizer, const RenderedChat& chat) {
  TokenizedChat result;
  const std::string_view text = chat.text;
  const auto append = [&](size_t begin, size_t end, uint8_t mask) {
    if (begin == end) return;
    const std::vector<int32_t> ids = tokenizer.encode(text.substr(begin, end - begin));
    result.ids.insert(result.ids.end(), ids.begin(), ids.end());
    result.loss_mask.insert(result.loss_mask.end(), ids.size(), mask);
  };
  size_t position = 0;
  for (size_t index = 0; index < chat.assistant_spans.size(); ++index) {
    const auto [begin, end] = chat.assistant_spans[index];
    if (begin < position || end < begin || end > text.size()) {
      return Status::invalid_argument(str_cat("tokenize_chat: assistant_spans[", index, "] = [", begin, ", ", end,
                                              ") is unsorted, overlapping or outside the text (", text.size(),
                                              " bytes)"));
    }
    append(position, begin, /*mask=*/0);
    append(begin, end, /*mask=*/1);
    position = end;
  }
  append(position, text.size(), /*mask=*/0);
  return result;
}

} // namespace caravan::model
