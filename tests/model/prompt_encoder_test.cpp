#include "model/prompt_encoder.h"

#include <algorithm>

#include <gtest/gtest.h>

#include "model/byte_tokenizer.h"

namespace caravan::model {
namespace {

// With the byte tokenizer every byte is one id, so the trained text is exactly the bytes under
// the mask.
struct TrainedText {
  std::string all;
  std::string trained;
};

TrainedText split_by_mask(const TokenizedChat& tokens) {
  EXPECT_EQ(tokens.ids.size(), tokens.loss_mask.size());
  std::vector<int32_t> trained;
  for (size_t i = 0; i < tokens.ids.size(); ++i) {
    if (tokens.loss_mask[i] == 1) trained.push_back(tokens.ids[i]);
  }
  ByteTokenizer bytes;
  return {bytes.decode(tokens.ids).value(), bytes.decode(trained).value()};
}

PromptEncoder encoder_for(ChatFormat format) {
  return PromptEncoder(std::make_shared<ByteTokenizer>(),
                       {.chat_format = format,
                        .render = {},
                        .text_prefix = {ByteTokenizer::kBosId},
                        .stop_ids = {ByteTokenizer::kEosId},
                        .chat_template_origin = "test"});
}

const std::vector<core::ChatMessage> kConversation = {
    {"system", "Be brief."}, {"user", "2+2?"}, {"assistant", "4"}, {"user", "And 3+3?"}, {"assistant", "6"},
};

// The end-of-turn marker each family puts after an assistant turn (inside the trained span).
std::string end_of_turn(ChatFormat format) {
  switch (format) {
    case ChatFormat::kLlama3:
      return "<|eot_id|>";
    case ChatFormat::kChatMl:
    case ChatFormat::kQwen3:
      return "<|im_end|>";
    case ChatFormat::kTulu:
      return "<|end_of_text|>";
  }
  return {};
}

TEST(PromptEncoderConversationTest, MasksEveryAssistantTurnAndNothingElseInEachTemplate) {
  for (ChatFormat format : kAllChatFormats) {
    SCOPED_TRACE(std::string(chat_format_name(format)));
    const PromptEncoder encoder = encoder_for(format);
    Result<TokenizedChat> tokens = encoder.encode_conversation(kConversation, /*trained_from=*/0);
    ASSERT_TRUE(tokens.ok()) << tokens.status().to_string();
    const TrainedText text = split_by_mask(*tokens);
    const std::string eot = end_of_turn(format);
    // Qwen3 renders the final assistant turn (after the last user turn) with an empty thinking
    // block; it is part of that turn's trained text.
    const std::string last = format == ChatFormat::kQwen3 ? "<think>\n\n</think>\n\n6" : "6";
    EXPECT_EQ(text.trained, "4" + eot + last + eot);
    // The whole text is the template's rendering without a generation prompt.
    ChatRenderOptions options;
    const RenderedChat rendered = render_chat(format, kConversation, options).value();
    EXPECT_EQ(text.all, rendered.text);
    EXPECT_EQ(text.trained.find("user"), std::string::npos) << "no header or user text is trained";
    EXPECT_EQ(text.trained.find("Be brief."), std::string::npos);
  }
}

TEST(PromptEncoderConversationTest, TrainedFromSkipsEarlierAssistantTurns) {
  for (ChatFormat format : kAllChatFormats) {
    SCOPED_TRACE(std::string(chat_format_name(format)));
    const PromptEncoder encoder = encoder_for(format);
    const TokenizedChat all = encoder.encode_conversation(kConversation, 0).value();
    const TokenizedChat last_only = encoder.encode_conversation(kConversation, /*trained_from=*/4).value();
    EXPECT_EQ(all.ids, last_only.ids) << "the same text; only the mask differs";
    const TrainedText text = split_by_mask(last_only);
    EXPECT_EQ(text.trained.find('4'), std::string::npos);
    EXPECT_NE(text.trained.find('6'), std::string::npos);
    EXPECT_TRUE(text.trained.ends_with(end_of_turn(format)));
    // The trained tokens are one contiguous run (the last turn's content and end marker).
    const auto first = std::find(last_only.loss_mask.begin(), last_only.loss_mask.end(), 1);
    const auto past_last = std::find(last_only.loss_mask.rbegin(), last_only.loss_mask.rend(), 1).base();
    ASSERT_LT(first, past_last);
    EXPECT_TRUE(std::all_of(first, past_last, [](uint8_t m) { return m == 1; }));
  }
}

TEST(PromptEncoderConversationTest, NeedsAChatTemplate) {
  const PromptEncoder encoder(std::make_shared<ByteTokenizer>(),
                              {.chat_format = std::nullopt,
                               .render = {},
                               .text_prefix = {},
                               .stop_ids = {ByteTokenizer::kEosId},
                               .chat_template_origin = "inline model without [model] chat_template"});
  Result<TokenizedChat> tokens = encoder.encode_conversation(kConversation, 0);
  ASSERT_FALSE(tokens.ok());
  EXPECT_EQ(tokens.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(tokens.status().message().find("inline model without [model] chat_template"), std::string::npos);
}

} // namespace
} // namespace caravan::model
