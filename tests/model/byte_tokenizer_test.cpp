#include "model/byte_tokenizer.h"

#include <gtest/gtest.h>

namespace caravan::model {
namespace {

TEST(ByteTokenizer, EncodesBytesWithoutSpecials) {
  const ByteTokenizer tokenizer;
  EXPECT_EQ(tokenizer.encode("hi!"), (std::vector<int32_t>{104, 105, 33}));
  EXPECT_EQ(tokenizer.encode("\xc3\xa9"), (std::vector<int32_t>{0xc3, 0xa9}));  // "é"
  EXPECT_TRUE(tokenizer.encode("").empty());
}

TEST(ByteTokenizer, SpecialIds) {
  const ByteTokenizer tokenizer;
  const Tokenizer& base = tokenizer;
  EXPECT_EQ(base.bos_id(), 256);
  EXPECT_EQ(base.eos_id(), 257);
  EXPECT_EQ(base.pad_id(), 258);
  EXPECT_EQ(base.vocab_size(), 259);
}

TEST(ByteTokenizer, RoundTripsEveryByteIncludingInvalidUtf8) {
  const ByteTokenizer tokenizer;
  std::string text;
  for (int byte = 0; byte < 256; ++byte) text.push_back(static_cast<char>(byte));
  text += "\xff\xfe\xc3(\x80";  // invalid UTF-8 sequences
  const std::vector<int32_t> ids = tokenizer.encode(text);
  ASSERT_EQ(ids.size(), text.size());
  EXPECT_EQ(ids[0], 0);
  EXPECT_EQ(ids[255], 255);
  const Result<std::string> decoded = tokenizer.decode(ids);
  ASSERT_TRUE(decoded.ok()) << decoded.status().to_string();
  EXPECT_EQ(*decoded, text);
}

TEST(ByteTokenizer, DecodeSkipsSpecialTokens) {
  const ByteTokenizer tokenizer;
  const std::vector<int32_t> ids = {ByteTokenizer::kPadId, ByteTokenizer::kBosId, 'o', 'k', ByteTokenizer::kEosId};
  EXPECT_EQ(tokenizer.decode(ids).value(), "ok");
}

TEST(ByteTokenizer, DecodeRejectsOutOfRangeIdWithPosition) {
  const ByteTokenizer tokenizer;
  const std::vector<int32_t> too_large = {'a', 'b', 259, 'c'};
  const Result<std::string> result = tokenizer.decode(too_large);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(result.status().message().find("id 259 at position 2"), std::string::npos) << result.status().message();

  const std::vector<int32_t> negative = {-1};
  const Result<std::string> negative_result = tokenizer.decode(negative);
  ASSERT_FALSE(negative_result.ok());
  EXPECT_NE(negative_result.status().message().find("id -1 at position 0"), std::string::npos);
}

} // namespace
} // namespace caravan::model
