#include "actors/rollout/stop_strings.h"

#include <gtest/gtest.h>

#include "actors/rollout/sampler.h"
#include "model/byte_tokenizer.h"

namespace caravan::rollout {
namespace {

// Feeds `pieces` one by one; the index of the piece that completed a stop string, or -1.
int first_match(std::vector<std::string> stop_strings, const std::vector<std::string>& pieces) {
  StopStringMatcher matcher(std::move(stop_strings));
  for (size_t i = 0; i < pieces.size(); ++i) {
    if (matcher.append(pieces[i])) return static_cast<int>(i);
  }
  return -1;
}

TEST(StopStringsTest, MatchInsideOneToken) {
  EXPECT_EQ(first_match({"</answer>"}, {"The answer", " is 4</answer> and", " more"}), 1);
  EXPECT_EQ(first_match({"</answer>"}, {"no", " stop", " here"}), -1);
}

TEST(StopStringsTest, MatchSplitOverTwoAndThreeTokens) {
  EXPECT_EQ(first_match({"</answer>"}, {"x </ans", "wer> y"}), 1);
  EXPECT_EQ(first_match({"</answer>"}, {"x <", "/answ", "er>"}), 2);
  // Split over many one-byte tokens, with empty tokens (special ids) in between.
  EXPECT_EQ(first_match({"STOP"}, {"S", "", "T", "O", "", "P", "!"}), 5);
}

TEST(StopStringsTest, OverlappingPartialMatches) {
  // "aab" where the text runs "aaab": a matcher that restarted after the failed "aa|a" would miss it.
  EXPECT_EQ(first_match({"aab"}, {"a", "a", "a", "b"}), 3);
  EXPECT_EQ(first_match({"abab"}, {"ab", "a", "bab"}), 2);
  // One stop string a prefix of another: the shorter one completes first.
  EXPECT_EQ(first_match({"\n\n\n", "\n\n"}, {"x\n", "\n", "\n"}), 1);
  // Several stop strings, one partially matched while another completes.
  EXPECT_EQ(first_match({"<end>", "##"}, {"<en", "#", "#"}), 2);
}

TEST(StopStringsTest, MultiByteCharacterSplitAcrossTokens) {
  // "é" is C3 A9 in UTF-8; the byte tokenizer emits one token per byte.
  const model::ByteTokenizer tokenizer;
  const TokenText text = TokenText::from_tokenizer(tokenizer);
  StopStringMatcher matcher({"café"});
  const std::vector<int32_t> ids = tokenizer.encode("un café");
  ASSERT_EQ(ids.size(), 8u);
  for (size_t i = 0; i + 1 < ids.size(); ++i) EXPECT_FALSE(matcher.append(text.bytes(ids[i]))) << i;
  EXPECT_TRUE(matcher.append(text.bytes(ids.back())));  // A9 completes it
  // Special tokens decode to nothing; ids beyond the table too.
  EXPECT_EQ(text.bytes(model::ByteTokenizer::kEosId), "");
  EXPECT_EQ(text.bytes(model::ByteTokenizer::kVocabSize + 5), "");
}

TEST(StopStringsTest, NoFalseMatchAcrossTheDroppedPrefix) {
  // The tail keeps 2 bytes for "abc": "ab" + "xc" must not match, "a" + "bc" must.
  EXPECT_EQ(first_match({"abc"}, {"ab", "xc"}), -1);
  EXPECT_EQ(first_match({"abc"}, {"zzzza", "bc"}), 1);
}

// A greedy sampler that emits `tokens` in order (the logits put each step's token first).
struct ScriptedRun {
  std::vector<int32_t> generated;
  std::optional<FinishReason> reason;
};
ScriptedRun run_script(SamplingParams params, const TokenText& text, const std::vector<int32_t>& tokens, int64_t vocab) {
  params.temperature = 0;
  SequenceSampler sampler(params, {}, &text);
  for (const int32_t token : tokens) {
    if (sampler.finished()) break;
    at::Tensor logits = at::zeros({1, vocab});
    logits[0][token].fill_(1.0);
    std::vector<SequenceSampler*> rows = {&sampler};
    sample_tokens(logits, rows);
  }
  return {sampler.generated(), sampler.finish_reason()};
}

TEST(StopStringsTest, TheSequenceEndsWithTheTokenThatCompletedTheStopString) {
  const TokenText text({"Answer", ": ", "4", "</", "ans", "wer>", " more", "<eos>"});
  SamplingParams params{.max_new_tokens = 20, .stop_ids = {7}, .stop_strings = {"</answer>"}};
  const ScriptedRun run = run_script(params, text, {0, 1, 2, 3, 4, 5, 6, 7}, 8);
  EXPECT_EQ(run.generated, (std::vector<int32_t>{0, 1, 2, 3, 4, 5}));
  EXPECT_EQ(run.reason, FinishReason::kStopString);
  // A stop id wins over a stop string; max tokens applies when neither comes.
  EXPECT_EQ(run_script(params, text, {3, 7}, 8).reason, FinishReason::kStopToken);
  params.max_new_tokens = 4;
  const ScriptedRun truncated = run_script(params, text, {0, 1, 2, 3, 4, 5}, 8);
  EXPECT_EQ(truncated.generated.size(), 4u);
  EXPECT_EQ(truncated.reason, FinishReason::kLength);
}

}  // namespace
} // namespace caravan::rollout
