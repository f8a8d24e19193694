#include "model/chat_template.h"

#include <fstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "model/bpe_tokenizer.h"
#include "model/byte_tokenizer.h"
#include "model/pretokenizer.h"
#include "tests/common/temp_dir.h"

namespace caravan::model {
namespace {

using nlohmann::json;

RenderedChat render(ChatFormat format, const std::vector<ChatMessage>& messages, ChatRenderOptions options = {}) {
  Result<RenderedChat> chat = render_chat(format, messages, options);
  EXPECT_TRUE(chat.ok()) << chat.status().to_string();
  return std::move(chat).value();
}

// The texts of the assistant spans, in order.
std::vector<std::string> span_texts(const RenderedChat& chat) {
  std::vector<std::string> texts;
  for (const auto& [begin, end] : chat.assistant_spans) texts.push_back(chat.text.substr(begin, end - begin));
  return texts;
}

const std::vector<ChatMessage> kConversation = {
    {"system", "Be brief."},
    {"user", "2+2?"},
    {"assistant", "4"},
    {"user", "And 3+3?"},
    {"assistant", "6"},
};

TEST(ChatFormatTest, NamesRoundTrip) {
  for (ChatFormat format : kAllChatFormats) {
    Result<ChatFormat> parsed = chat_format_from_name(chat_format_name(format));
    ASSERT_TRUE(parsed.ok());
    EXPECT_EQ(*parsed, format);
  }
  Result<ChatFormat> bad = chat_format_from_name("vicuna");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(bad.status().message().find("vicuna"), std::string::npos);
}

TEST(ChatTemplateTest, Llama3MultiTurnWithSystem) {
  const RenderedChat chat = render(ChatFormat::kLlama3, kConversation);
  EXPECT_EQ(chat.text,
            "<|begin_of_text|>"
            "<|start_header_id|>system<|end_header_id|>\n\nBe brief.<|eot_id|>"
            "<|start_header_id|>user<|end_header_id|>\n\n2+2?<|eot_id|>"
            "<|start_header_id|>assistant<|end_header_id|>\n\n4<|eot_id|>"
            "<|start_header_id|>user<|end_header_id|>\n\nAnd 3+3?<|eot_id|>"
            "<|start_header_id|>assistant<|end_header_id|>\n\n6<|eot_id|>");
  EXPECT_EQ(span_texts(chat), (std::vector<std::string>{"4<|eot_id|>", "6<|eot_id|>"}));
}

TEST(ChatTemplateTest, Llama3TrimsContentAndAddsGenerationPrompt) {
  const RenderedChat chat =
      render(ChatFormat::kLlama3, {{"user", "  \n Hi there \t\n"}}, {.add_generation_prompt = true});
  EXPECT_EQ(chat.text,
            "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nHi there<|eot_id|>"
            "<|start_header_id|>assistant<|end_header_id|>\n\n");
  EXPECT_TRUE(chat.assistant_spans.empty());
}

TEST(ChatTemplateTest, Llama3SpanPositions) {
  const RenderedChat chat = render(ChatFormat::kLlama3, {{"user", "a"}, {"assistant", " b "}});
  const std::string prefix =
      "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\na<|eot_id|>"
      "<|start_header_id|>assistant<|end_header_id|>\n\n";
  ASSERT_EQ(chat.assistant_spans.size(), 1u);
  EXPECT_EQ(chat.assistant_spans[0].first, prefix.size());
  EXPECT_EQ(chat.assistant_spans[0].second, chat.text.size());
  EXPECT_EQ(chat.text, prefix + "b<|eot_id|>");
}

TEST(ChatTemplateTest, ChatMlMultiTurnWithSystem) {
  const RenderedChat chat = render(ChatFormat::kChatMl, kConversation);
  EXPECT_EQ(chat.text,
            "<|im_start|>system\nBe brief.<|im_end|>\n"
            "<|im_start|>user\n2+2?<|im_end|>\n"
            "<|im_start|>assistant\n4<|im_end|>\n"
            "<|im_start|>user\nAnd 3+3?<|im_end|>\n"
            "<|im_start|>assistant\n6<|im_end|>\n");
  EXPECT_EQ(span_texts(chat), (std::vector<std::string>{"4<|im_end|>", "6<|im_end|>"}));
  const std::string prefix =
      "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\n2+2?<|im_end|>\n<|im_start|>assistant\n";
  EXPECT_EQ(chat.assistant_spans[0].first, prefix.size());
}

TEST(ChatTemplateTest, ChatMlKeepsWhitespaceAndAddsGenerationPrompt) {
  const RenderedChat chat = render(ChatFormat::kChatMl, {{"user", " Hi\n"}}, {.add_generation_prompt = true});
  EXPECT_EQ(chat.text, "<|im_start|>user\n Hi\n<|im_end|>\n<|im_start|>assistant\n");
}

TEST(ChatTemplateTest, ChatMlQwenDefaultSystemOnlyWithoutSystemMessage) {
  ChatRenderOptions options;
  options.chatml_default_system = true;
  options.add_generation_prompt = true;
  const RenderedChat without = render(ChatFormat::kChatMl, {{"user", "Hi"}}, options);
  EXPECT_EQ(without.text,
            "<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\n"
            "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n");
  const RenderedChat with = render(ChatFormat::kChatMl, {{"system", "S"}, {"user", "Hi"}}, options);
  EXPECT_EQ(with.text, "<|im_start|>system\nS<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n");
}

TEST(ChatTemplateTest, TuluMultiTurnWithSystem) {
  const RenderedChat chat = render(ChatFormat::kTulu, kConversation);
  // No newline after the last assistant message (official template).
  EXPECT_EQ(chat.text,
            "<|system|>\nBe brief.\n"
            "<|user|>\n2+2?\n"
            "<|assistant|>\n4<|end_of_text|>\n"
            "<|user|>\nAnd 3+3?\n"
            "<|assistant|>\n6<|end_of_text|>");
  EXPECT_EQ(span_texts(chat), (std::vector<std::string>{"4<|end_of_text|>", "6<|end_of_text|>"}));
}

TEST(ChatTemplateTest, TuluGenerationPromptAndCustomEos) {
  ChatRenderOptions options;
  options.add_generation_prompt = true;
  options.tulu_eos_token = "<|endoftext|>";  // OLMo 2
  const RenderedChat chat = render(ChatFormat::kTulu, {{"user", "Hi"}, {"assistant", "Yo"}, {"user", "Bye"}}, options);
  EXPECT_EQ(chat.text, "<|user|>\nHi\n<|assistant|>\nYo<|endoftext|>\n<|user|>\nBye\n<|assistant|>\n");
  EXPECT_EQ(span_texts(chat), (std::vector<std::string>{"Yo<|endoftext|>"}));
}

// Expected strings below are what Qwen/Qwen3-0.6B's chat template (tokenizer_config.json,
// without tools) renders, traced by hand through its Jinja: a first system message goes first;
// assistant turns before the last user turn lose their reasoning; turns after it keep a
// <think> block when they are last or have reasoning.
TEST(ChatTemplateTest, Qwen3SingleTurnWithThinkingOnAndOff) {
  const std::vector<ChatMessage> prompt = {{"system", "Be brief."}, {"user", "2+2?"}};
  EXPECT_EQ(render(ChatFormat::kQwen3, prompt, {.add_generation_prompt = true}).text,
            "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\n2+2?<|im_end|>\n<|im_start|>assistant\n");
  EXPECT_EQ(render(ChatFormat::kQwen3, prompt, {.add_generation_prompt = true, .enable_thinking = false}).text,
            "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\n2+2?<|im_end|>\n<|im_start|>assistant\n"
            "<think>\n\n</think>\n\n");
}

TEST(ChatTemplateTest, Qwen3DropsReasoningOfEarlierTurnsAndKeepsTheLast) {
  const std::vector<ChatMessage> messages = {
      {"user", "2+2?"},
      {"assistant", "<think>\nadd them\n</think>\n\n4"},
      {"user", "And 3+3?"},
      {"assistant", "<think>\n\ndouble 3\n\n</think>\n\n6"},
  };
  const RenderedChat chat = render(ChatFormat::kQwen3, messages);
  EXPECT_EQ(chat.text,
            "<|im_start|>user\n2+2?<|im_end|>\n"
            "<|im_start|>assistant\n4<|im_end|>\n"
            "<|im_start|>user\nAnd 3+3?<|im_end|>\n"
            "<|im_start|>assistant\n<think>\ndouble 3\n</think>\n\n6<|im_end|>\n");
  EXPECT_EQ(span_texts(chat), (std::vector<std::string>{"4<|im_end|>", "<think>\ndouble 3\n</think>\n\n6<|im_end|>"}));
  // A last assistant turn without reasoning still gets an (empty) think block.
  EXPECT_EQ(render(ChatFormat::kQwen3, {{"user", "Hi"}, {"assistant", "Yo"}}).text,
            "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\nYo<|im_end|>\n");
}

TEST(ChatTemplateTest, Qwen3LaterSystemMessageAndToolResponseUserTurns) {
  // A user turn that is only a tool response is not a query: the assistant turn after the real
  // query keeps its reasoning although it is not last.
  const std::vector<ChatMessage> messages = {
      {"user", "Look it up."},
      {"assistant", "<think>need a tool</think>calling"},
      {"user", "<tool_response>42</tool_response>"},
      {"system", "Answer now."},
  };
  EXPECT_EQ(render(ChatFormat::kQwen3, messages).text,
            "<|im_start|>user\nLook it up.<|im_end|>\n"
            "<|im_start|>assistant\n<think>\nneed a tool\n</think>\n\ncalling<|im_end|>\n"
            "<|im_start|>user\n<tool_response>42</tool_response><|im_end|>\n"
            "<|im_start|>system\nAnswer now.<|im_end|>\n");
}

TEST(ChatTemplateTest, EmptyAssistantContentStillSpansEndMarker) {
  const RenderedChat chat = render(ChatFormat::kChatMl, {{"user", "Hi"}, {"assistant", ""}});
  EXPECT_EQ(span_texts(chat), (std::vector<std::string>{"<|im_end|>"}));
}

TEST(ChatTemplateTest, BadRoleNamesIndexAndRole) {
  const std::vector<ChatMessage> messages = {{"user", "Hi"}, {"tool", "{}"}};
  for (ChatFormat format : kAllChatFormats) {
    Result<RenderedChat> chat = render_chat(format, messages, {});
    ASSERT_FALSE(chat.ok());
    EXPECT_EQ(chat.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(chat.status().message().find("messages[1]"), std::string::npos) << chat.status().to_string();
    EXPECT_NE(chat.status().message().find("\"tool\""), std::string::npos) << chat.status().to_string();
  }
}

TEST(ChatTemplateTest, EmptyConversationIsInvalid) {
  Result<RenderedChat> chat = render_chat(ChatFormat::kLlama3, std::span<const ChatMessage>{}, {});
  ASSERT_FALSE(chat.ok());
  EXPECT_EQ(chat.status().code(), StatusCode::kInvalidArgument);
}

TEST(DetectChatFormatTest, RecognisesEachFamily) {
  const std::vector<std::pair<std::string, ChatFormat>> cases = {
      {"{{- bos_token }}{%- for message in messages %}{{- '<|start_header_id|>' + message['role'] + "
       "'<|end_header_id|>\\n\\n' + message['content'] | trim + '<|eot_id|>' }}{%- endfor %}",
       ChatFormat::kLlama3},
      {"{%- for message in messages %}{{- '<|im_start|>' + message.role + '\\n' + message.content + "
       "'<|im_end|>' + '\\n' }}{%- endfor %}",
       ChatFormat::kChatMl},
      {"{%- for message in messages %}{{- '<|im_start|>' + message.role + '\\n' + message.content + "
       "'<|im_end|>' + '\\n' }}{%- endfor %}{%- if add_generation_prompt %}{{- '<|im_start|>assistant\\n' }}"
       "{%- if enable_thinking is defined and enable_thinking is false %}{{- '<think>\\n\\n</think>\\n\\n' }}"
       "{%- endif %}{%- endif %}",
       ChatFormat::kQwen3},
      {"{% for message in messages %}{% if message['role'] == 'user' %}{{ '<|user|>\\n' + message['content'] "
       "+ '\\n' }}{% elif message['role'] == 'assistant' %}{{ '<|assistant|>\\n' + message['content'] + "
       "eos_token }}{% endif %}{% endfor %}",
       ChatFormat::kTulu},
  };
  for (const auto& [chat_template, expected] : cases) {
    Result<ChatFormat> format = detect_chat_format(chat_template, "tokenizer_config.json");
    ASSERT_TRUE(format.ok()) << format.status().to_string();
    EXPECT_EQ(*format, expected) << chat_template;
  }
}

TEST(DetectChatFormatTest, UnknownTemplateIsInvalidNamingTheSource) {
  Result<ChatFormat> format = detect_chat_format("[INST] {{ message }} [/INST]", "/m/tokenizer_config.json");
  ASSERT_FALSE(format.ok());
  EXPECT_EQ(format.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(format.status().message().find("/m/tokenizer_config.json: chat_template matches no known format"),
            std::string::npos)
      << format.status().message();
}

TEST(TokenizeChatTest, MaskCoversExactlyAssistantBytesWithByteTokenizer) {
  const ByteTokenizer tokenizer;
  for (ChatFormat format : kAllChatFormats) {
    const RenderedChat chat = render(format, kConversation, {.add_generation_prompt = true});
    Result<TokenizedChat> tokens = tokenize_chat(tokenizer, chat);
    ASSERT_TRUE(tokens.ok()) << tokens.status().to_string();
    // One token per byte: ids spell the text and the mask marks exactly the span bytes.
    ASSERT_EQ(tokens->ids.size(), chat.text.size());
    ASSERT_EQ(tokens->loss_mask.size(), chat.text.size());
    EXPECT_EQ(tokens->ids, tokenizer.encode(chat.text));
    std::string masked;
    for (size_t i = 0; i < tokens->ids.size(); ++i) {
      if (tokens->loss_mask[i] != 0) masked.push_back(static_cast<char>(tokens->ids[i]));
    }
    std::string expected;
    for (const std::string& span : span_texts(chat)) expected += span;
    EXPECT_EQ(masked, expected) << chat_format_name(format);
  }
}

// Greedily packs two bytes per token (id = 256 * first + second + 256 for pairs), so encoding
// the whole text would put tokens across span boundaries; piecewise encoding must not.
class PairTokenizer final : public Tokenizer {
 public:
  std::vector<int32_t> encode(std::string_view text) const override {
    std::vector<int32_t> ids;
    for (size_t i = 0; i < text.size(); i += 2) {
      const auto first = static_cast<uint8_t>(text[i]);
      ids.push_back(i + 1 < text.size() ? 256 + 256 * first + static_cast<uint8_t>(text[i + 1]) : first);
    }
    return ids;
  }
  Result<std::string> decode(std::span<const int32_t> ids) const override {
    std::string text;
    for (int32_t id : ids) {
      if (id < 256) {
        text.push_back(static_cast<char>(id));
      } else {
        text.push_back(static_cast<char>((id - 256) / 256));
        text.push_back(static_cast<char>((id - 256) % 256));
      }
    }
    return text;
  }
  int32_t bos_id() const override { return 0; }
  int32_t eos_id() const override { return 0; }
  int32_t pad_id() const override { return 0; }
  int32_t vocab_size() const override { return 256 + 256 * 256; }
};

TEST(TokenizeChatTest, MultiByteTokensNeverStraddleSpanBoundaries) {
  const PairTokenizer tokenizer;
  // Assistant span "b<|eot_id|>" has odd length and starts at an odd offset within the text.
  const RenderedChat chat = render(ChatFormat::kLlama3, {{"user", "a"}, {"assistant", "b"}, {"user", "cc"}});
  Result<TokenizedChat> tokens = tokenize_chat(tokenizer, chat);
  ASSERT_TRUE(tokens.ok());
  ASSERT_EQ(tokens->ids.size(), tokens->loss_mask.size());
  std::string all;
  std::string masked;
  for (size_t i = 0; i < tokens->ids.size(); ++i) {
    const std::string piece = tokenizer.decode(std::span<const int32_t>(&tokens->ids[i], 1)).value();
    all += piece;
    if (tokens->loss_mask[i] != 0) masked += piece;
  }
  EXPECT_EQ(all, chat.text);
  EXPECT_EQ(masked, "b<|eot_id|>");
}

// A ChatML tokenizer.json: byte symbols (id == byte), merges "H i" and "Ċ Ċ", the two ChatML
// special tokens as added tokens, Qwen 2's pre-tokenizer.
TEST(TokenizeChatTest, BpeSpecialTokensAreSingleMaskedIdsAndMatchWholeTextEncoding) {
  constexpr int32_t kIdHi = 256;
  constexpr int32_t kIdImStart = 300;
  constexpr int32_t kIdImEnd = 301;
  json vocab = json::object();
  const auto& table = byte_level_table();
  for (int byte = 0; byte < 256; ++byte) vocab[table[byte]] = byte;
  vocab["Hi"] = kIdHi;
  vocab["ĊĊ"] = 257;
  json added = json::array();
  added.push_back({{"id", kIdImStart}, {"content", "<|im_start|>"}, {"special", true}});
  added.push_back({{"id", kIdImEnd}, {"content", "<|im_end|>"}, {"special", true}});
  const json fixture = {
      {"version", "1.0"},
      {"added_tokens", added},
      {"normalizer", nullptr},
      {"pre_tokenizer",
       {{"type", "Sequence"},
        {"pretokenizers",
         json::array({{{"type", "Split"},
                       {"pattern", {{"Regex", std::string(kQwen2SplitPattern)}}},
                       {"behavior", "Isolated"},
                       {"invert", false}},
                      {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"trim_offsets", false}, {"use_regex", false}}})}}},
      {"post_processor", nullptr},
      {"decoder", {{"type", "ByteLevel"}, {"add_prefix_space", true}, {"trim_offsets", true}, {"use_regex", true}}},
      {"model",
       {{"type", "BPE"}, {"dropout", nullptr}, {"unk_token", nullptr}, {"continuing_subword_prefix", ""},
        {"end_of_word_suffix", ""}, {"fuse_unk", false}, {"byte_fallback", false}, {"vocab", vocab},
        {"merges", json::array({"H i", "Ċ Ċ"})}}},
  };
  caravan::testing::TempDir dir;
  std::ofstream(dir.path() / "tokenizer.json") << fixture.dump();
  Result<std::shared_ptr<const BpeTokenizer>> tokenizer = BpeTokenizer::load(dir.path() / "tokenizer.json");
  ASSERT_TRUE(tokenizer.ok()) << tokenizer.status().to_string();

  const RenderedChat chat = render(ChatFormat::kChatMl, {{"user", "Hi"}, {"assistant", "Hi\n\nHi"}});
  Result<TokenizedChat> tokens = tokenize_chat(**tokenizer, chat);
  ASSERT_TRUE(tokens.ok()) << tokens.status().to_string();
  EXPECT_EQ(tokens->ids, (*tokenizer)->encode(chat.text));
  std::vector<int32_t> masked;
  for (size_t i = 0; i < tokens->ids.size(); ++i) {
    if (tokens->loss_mask[i] != 0) masked.push_back(tokens->ids[i]);
  }
  EXPECT_EQ(masked, (std::vector<int32_t>{kIdHi, 257, kIdHi, kIdImEnd}));
  EXPECT_EQ(tokens->ids.front(), kIdImStart);
}

TEST(TokenizeChatTest, NoAssistantTurnsGivesZeroMask) {
  const ByteTokenizer tokenizer;
  const RenderedChat chat = render(ChatFormat::kChatMl, {{"user", "Hi"}}, {.add_generation_prompt = true});
  Result<TokenizedChat> tokens = tokenize_chat(tokenizer, chat);
  ASSERT_TRUE(tokens.ok());
  EXPECT_EQ(tokens->loss_mask, std::vector<uint8_t>(chat.text.size(), 0));
}

TEST(TokenizeChatTest, RejectsBadSpans) {
  const ByteTokenizer tokenizer;
  const std::vector<std::vector<std::pair<size_t, size_t>>> bad = {{{2, 1}}, {{0, 6}}, {{2, 4}, {3, 5}}};
  for (const auto& spans : bad) {
    const RenderedChat chat{"hello", spans};
    Result<TokenizedChat> tokens = tokenize_chat(tokenizer, chat);
    ASSERT_FALSE(tokens.ok());
    EXPECT_EQ(tokens.status().code(), StatusCode::kInvalidArgument);
  }
}

} // namespace
} // namespace caravan::model
