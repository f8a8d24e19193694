#include "model/kv_cache.h"

#include <gtest/gtest.h>

#include "core/status.h"
#include "model/batch_layout.h"

namespace caravan::model {
namespace {

core::TransformerConfig config_with(int64_t layers) {
  core::TransformerConfig config;
  config.num_layers = layers;
  config.hidden_size = 8;
  config.num_heads = 2;
  config.num_kv_heads = 1;  // head_dim 4
  return config;
}

// Keys [N, 1, 4] whose every element is its flat token index + offset.
at::Tensor numbered(int64_t tokens, float offset) {
  return (at::arange(tokens, at::kFloat) + offset).view({tokens, 1, 1}).expand({tokens, 1, 4}).contiguous();
}

// Runs the KvMemory sequence of one forward, storing numbered keys/values in every layer.
void fill(KvCache& cache, const BatchLayout& layout, float offset) {
  cache.begin_forward(layout);
  for (int64_t layer = 0; layer < cache.num_layers(); ++layer) {
    cache.store(layer, numbered(layout.num_tokens(), offset), numbered(layout.num_tokens(), -offset));
  }
  cache.end_forward();
}

TEST(KvCache, StoresEachRowAfterItsOwnLengthAndReadsGroups) {
  KvCache cache(config_with(2), /*rows=*/3, /*max_len=*/6, at::kFloat, at::kCPU);
  // Row 2 gets 3 tokens (0, 1, 2), row 0 gets 1 token (3).
  fill(cache, BatchLayout({{.new_tokens = 3, .past = 0, .memory_slot = 2}, {.new_tokens = 1, .past = 0, .memory_slot = 0}},
                          at::kCPU),
       100);
  EXPECT_EQ(cache.length(0), 1);
  EXPECT_EQ(cache.length(1), 0);
  EXPECT_EQ(cache.length(2), 3);
  // A decode step of both: row 0 token 10 at slot 1, row 2 token 11 at slot 3.
  const BatchLayout step({{.new_tokens = 1, .past = 1, .memory_slot = 0}, {.new_tokens = 1, .past = 3, .memory_slot = 2}},
                         at::kCPU);
  cache.begin_forward(step);
  cache.store(0, numbered(2, 110), numbered(2, -110));
  cache.store(1, numbered(2, 210), numbered(2, -210));
  ASSERT_EQ(step.groups().size(), 1u);
  const auto [keys, values] = cache.read(1, 0);  // [2 members, 1 head, 4 keys, 4]
  ASSERT_EQ(keys.sizes(), (std::vector<int64_t>{2, 1, 4, 4}));
  EXPECT_EQ(keys[0][0][0][0].item<float>(), 103);  // row 0: first fill's token 3
  EXPECT_EQ(keys[0][0][1][0].item<float>(), 210);  // then this step's token 0
  EXPECT_EQ(keys[1][0][2][0].item<float>(), 102);  // row 2: first fill's tokens 0..2
  EXPECT_EQ(keys[1][0][3][3].item<float>(), 211);
  EXPECT_EQ(values[1][0][3][0].item<float>(), -210 + 1);  // values count up from -offset
  cache.end_forward();
  EXPECT_EQ(cache.length(0), 2);
  EXPECT_EQ(cache.length(2), 4);
}

TEST(KvCache, MismatchesAreCheckFailures) {
  KvCache cache(config_with(1), /*rows=*/1, /*max_len=*/2, at::kFloat, at::kCPU);
  EXPECT_THROW(cache.begin_forward(BatchLayout::packed({3}, at::kCPU)), InternalError);  // overflow
  EXPECT_THROW(cache.begin_forward(BatchLayout({{.new_tokens = 1, .past = 1, .memory_slot = 0}}, at::kCPU)),
               InternalError);  // the row holds 0 tokens
  EXPECT_THROW(cache.begin_forward(BatchLayout({{.new_tokens = 1, .past = 0, .memory_slot = 1}}, at::kCPU)),
               InternalError);  // no row 1
  const BatchLayout layout = BatchLayout::packed({2}, at::kCPU);
  cache.begin_forward(layout);
  EXPECT_THROW(cache.store(0, at::zeros({2, 1, 4}, at::kDouble), at::zeros({2, 1, 4}, at::kDouble)), InternalError);
  EXPECT_THROW(cache.store(0, at::zeros({2, 2, 4}), at::zeros({2, 2, 4})), InternalError);
  cache.end_forward();
}

TEST(BatchLayout, GroupsSequencesByNewTokensAndBuildsCausalMasks) {
  const BatchLayout layout({{.new_tokens = 1, .past = 4, .memory_slot = 0},
                            {.new_tokens = 3, .past = 0, .memory_slot = 1},
                            {.new_tokens = 1, .past = 2, .memory_slot = 2}},
                           at::kCPU);
  EXPECT_EQ(layout.num_tokens(), 5);
  EXPECT_TRUE(layout.reads_memory());
  EXPECT_TRUE(at::equal(layout.positions(), at::tensor({4, 0, 1, 2, 2}, at::kLong)));
  EXPECT_TRUE(at::equal(layout.last_tokens(), at::tensor({0, 3, 4}, at::kLong)));
  ASSERT_EQ(layout.groups().size(), 2u);
  const BatchLayout::Group& decode = layout.groups()[0];
  EXPECT_EQ(decode.members, (std::vector<int64_t>{0, 2}));
  EXPECT_EQ(decode.keys, 5);
  EXPECT_TRUE(at::equal(decode.token_index, at::tensor({0, 4}, at::kLong)));  // not contiguous
  EXPECT_TRUE(at::equal(decode.allowed.view({2, 5}),
                        at::tensor({1, 1, 1, 1, 1, 1, 1, 1, 0, 0}, at::kLong).view({2, 5}).to(at::kBool)));
  const BatchLayout::Group& prefill = layout.groups()[1];
  EXPECT_FALSE(prefill.token_index.defined());
  EXPECT_EQ(prefill.first_token, 1);
  EXPECT_TRUE(at::equal(prefill.allowed.view({3, 3}), at::ones({3, 3}, at::kBool).tril()));
  EXPECT_FALSE(BatchLayout::packed({2, 2}, at::kCPU).reads_memory());
  EXPECT_THROW(BatchLayout({{.new_tokens = 0}}, at::kCPU), InternalError);
}

// Decode steps of very different contexts attend in separate groups (each padded only to its
// own longest context); kLongest keeps them in one group padded to the longest.
TEST(BatchLayout, SplitsDecodeStepsByContextLength) {
  const std::vector<BatchLayout::Sequence> steps = {{.new_tokens = 1, .past = 10, .memory_slot = 0},
                                                    {.new_tokens = 1, .past = 1000, .memory_slot = 1},
                                                    {.new_tokens = 1, .past = 12, .memory_slot = 2},
                                                    {.new_tokens = 1, .past = 990, .memory_slot = 3}};
  const BatchLayout by_context(steps, at::kCPU);
  ASSERT_EQ(by_context.groups().size(), 2u);
  EXPECT_EQ(by_context.groups()[0].members, (std::vector<int64_t>{0, 2}));
  EXPECT_EQ(by_context.groups()[0].keys, 13);
  EXPECT_TRUE(at::equal(by_context.groups()[0].token_index, at::tensor({0, 2}, at::kLong)));
  EXPECT_EQ(by_context.groups()[0].allowed.sizes(), (std::vector<int64_t>{2, 1, 1, 13}));
  EXPECT_EQ(by_context.groups()[1].members, (std::vector<int64_t>{1, 3}));
  EXPECT_EQ(by_context.groups()[1].keys, 1001);
  const BatchLayout longest(steps, at::kCPU, ContextGrouping::kLongest);
  ASSERT_EQ(longest.groups().size(), 1u);
  EXPECT_EQ(longest.groups()[0].members, (std::vector<int64_t>{0, 1, 2, 3}));
  EXPECT_EQ(longest.groups()[0].keys, 1001);
  // Contexts close together are not worth a second group.
  const BatchLayout close({{.new_tokens = 1, .past = 100}, {.new_tokens = 1, .past = 140, .memory_slot = 1}}, at::kCPU);
  EXPECT_EQ(close.groups().size(), 1u);
}

} // namespace
} // namespace caravan::model
