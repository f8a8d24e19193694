#include "learner/sequence_batch.h"

#include <gtest/gtest.h>

namespace caravan::learner {
namespace {

at::Tensor longs(std::vector<int64_t> values, int64_t rows) {
  return at::tensor(values, at::kLong).view({rows, -1});
}
at::Tensor floats(std::vector<float> values, int64_t rows) {
  return at::tensor(values, at::kFloat).view({rows, -1});
}

TEST(PackSequences, LaysOutRightPaddedRows) {
  const std::vector<int32_t> prompt0 = {5, 6}, completion0 = {7, 8};
  const std::vector<float> logprobs0 = {-0.5f, -0.25f};
  const std::vector<int32_t> prompt1 = {9}, completion1 = {3};
  const std::vector<float> logprobs1 = {-2.0f};
  const std::vector<int32_t> prompt2 = {4};  // empty completion: no loss
  Result<SequenceBatch> packed = pack_sequences(
      {{.prompt = prompt0, .completion = completion0, .completion_logprobs = logprobs0},
       {.prompt = prompt1, .completion = completion1, .completion_logprobs = logprobs1},
       {.prompt = prompt2}},
      /*pad_id=*/0);
  ASSERT_TRUE(packed.ok()) << packed.status().to_string();
  const SequenceBatch& b = *packed;
  EXPECT_TRUE(at::equal(b.tokens, longs({5, 6, 7, 8, 9, 3, 0, 0, 4, 0, 0, 0}, 3)));
  EXPECT_EQ(b.segments, (std::vector<int64_t>{4, 4, 4}));
  EXPECT_FALSE(b.sequence_cells.defined());
  EXPECT_TRUE(at::equal(b.targets, longs({6, 7, 8, 3, 0, 0, 0, 0, 0}, 3)));
  EXPECT_TRUE(at::equal(b.loss_mask, floats({0, 1, 1, 1, 0, 0, 0, 0, 0}, 3)));
  EXPECT_TRUE(at::equal(b.old_logprobs, floats({0, -0.5f, -0.25f, -2.0f, 0, 0, 0, 0, 0}, 3)));
  EXPECT_EQ(b.completion_tokens, 3);
}

TEST(PackSequences, PacksSequencesBackToBackInOneRow) {
  const std::vector<int32_t> prompt0 = {5, 6}, completion0 = {7, 8};
  const std::vector<float> logprobs0 = {-0.5f, -0.25f};
  const std::vector<int32_t> prompt1 = {9}, completion1 = {3};
  const std::vector<float> logprobs1 = {-2.0f};
  const std::vector<int32_t> prompt2 = {4};
  const std::vector<SequenceSpec> specs = {
      {.prompt = prompt0, .completion = completion0, .completion_logprobs = logprobs0},
      {.prompt = prompt1, .completion = completion1, .completion_logprobs = logprobs1},
      {.prompt = prompt2}};
  Result<SequenceBatch> packed = pack_sequences(specs, /*pad_id=*/0, RowLayout::kPacked);
  ASSERT_TRUE(packed.ok()) << packed.status().to_string();
  const SequenceBatch& b = *packed;
  EXPECT_TRUE(at::equal(b.tokens, longs({5, 6, 7, 8, 9, 3, 4}, 1)));
  EXPECT_EQ(b.segments, (std::vector<int64_t>{4, 2, 1}));
  EXPECT_TRUE(at::equal(b.targets, longs({6, 7, 8, 9, 3, 4}, 1)));
  // The cells predicting the next sequence's first token (8 -> 9, 3 -> 4) are never trained.
  EXPECT_TRUE(at::equal(b.loss_mask, floats({0, 1, 1, 0, 1, 0}, 1)));
  EXPECT_TRUE(at::equal(b.old_logprobs, floats({0, -0.5f, -0.25f, 0, -2.0f, 0}, 1)));
  EXPECT_EQ(b.completion_tokens, 3);
  EXPECT_EQ(b.sequences, 3);
  // Per sequence, the packed grid reads exactly as the padded one.
  const SequenceBatch padded = pack_sequences(specs, /*pad_id=*/0).value();
  EXPECT_TRUE(at::equal(per_sequence(b, b.loss_mask), padded.loss_mask));
  EXPECT_TRUE(at::equal(per_sequence(b, b.old_logprobs), padded.old_logprobs));
  EXPECT_TRUE(at::equal(per_sequence(b, b.targets) * padded.loss_mask.to(at::kLong),
                        padded.targets * padded.loss_mask.to(at::kLong)));
}

TEST(PackSequences, WithoutLogprobsLeavesZerosAndUsesPadId) {
  const std::vector<int32_t> prompt = {1, 2, 3}, completion = {4}, short_prompt = {1};
  Result<SequenceBatch> packed =
      pack_sequences({{.prompt = prompt, .completion = completion}, {.prompt = short_prompt}}, /*pad_id=*/258);
  ASSERT_TRUE(packed.ok());
  EXPECT_TRUE(at::equal(packed->tokens, longs({1, 2, 3, 4, 1, 258, 258, 258}, 2)));
  EXPECT_TRUE(at::equal(packed->loss_mask, floats({0, 0, 1, 0, 0, 0}, 2)));
  EXPECT_TRUE(at::equal(packed->old_logprobs, at::zeros({2, 3})));
}

TEST(PackSequences, RejectsBadInputNamingTheSequence) {
  const std::vector<int32_t> prompt = {1}, completion = {2, 3};
  const std::vector<float> one_logprob = {-1.0f};
  Result<SequenceBatch> mismatch =
      pack_sequences({{.prompt = prompt}, {.prompt = prompt, .completion = completion, .completion_logprobs = one_logprob}}, 0);
  ASSERT_EQ(mismatch.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(mismatch.status().message().find("sequence 1"), std::string::npos) << mismatch.status().message();

  Result<SequenceBatch> empty_prompt = pack_sequences({{.completion = completion}}, 0);
  ASSERT_EQ(empty_prompt.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(empty_prompt.status().message().find("sequence 0"), std::string::npos);

  EXPECT_EQ(pack_sequences({}, 0).status().code(), StatusCode::kInvalidArgument);
}

} // namespace
} // namespace caravan::learner
