#include "actors/rollout/block_allocator.h"

#include <map>
#include <random>
#include <vector>

#include <gtest/gtest.h>

#include "actors/rollout/paged_kv_cache.h"
#include "core/status.h"
#include "tests/common/tiny_transformer.h"

namespace caravan::rollout {
namespace {

TEST(BlockAllocator, CountsReferencesAndRefusesDoubleFrees) {
  BlockAllocator blocks(2);
  const std::optional<int32_t> a = blocks.allocate();
  const std::optional<int32_t> b = blocks.allocate();
  ASSERT_TRUE(a && b);
  EXPECT_FALSE(blocks.allocate());
  EXPECT_EQ(blocks.num_free(), 0);
  blocks.retain(*a);
  blocks.release(*a);
  EXPECT_EQ(blocks.ref_count(*a), 1);
  blocks.release(*a);
  EXPECT_EQ(blocks.num_free(), 1);
  EXPECT_THROW(blocks.release(*a), InternalError);
  EXPECT_THROW(blocks.retain(*a), InternalError);
}

TEST(BlockAllocator, PublishedBlocksStayFindableUntilReallocated) {
  BlockAllocator blocks(2);
  const int32_t a = *blocks.allocate();
  blocks.publish(a, 42);
  blocks.release(a);
  EXPECT_EQ(blocks.num_free(), 2);
  EXPECT_EQ(blocks.find(42), a);  // taken off the free list
  EXPECT_EQ(blocks.num_free(), 1);
  EXPECT_EQ(blocks.ref_count(a), 1);
  EXPECT_FALSE(blocks.find(43));
  EXPECT_EQ(blocks.prefix_lookups(), 2);
  EXPECT_EQ(blocks.prefix_hits(), 1);
  blocks.release(a);
  // The least recently freed block goes first: the other one, then `a`, which forgets its hash.
  EXPECT_NE(*blocks.allocate(), a);
  EXPECT_EQ(*blocks.allocate(), a);
  EXPECT_FALSE(blocks.find(42));
  blocks.forget_prefixes();
}

// Random join / leave / preempt / fork / prefix-attach sequences over a paged cache: after every
// operation each block's reference count equals the number of block tables listing it, free
// blocks are exactly those with no reference, and closing everything frees every block.
TEST(PagedKvCache, RandomJoinLeavePreemptForkKeepsReferenceCountsExact) {
  const core::TransformerConfig config = caravan::testing::tiny_transformer_config(40);
  PagedKvCache cache(config, /*num_blocks=*/24, /*block_size=*/4, at::kFloat, at::kCPU);
  std::mt19937 rng(7);
  std::vector<int64_t> open;
  std::map<int64_t, std::vector<int32_t>> tokens;  // per slot, the tokens at its positions
  const std::vector<int32_t> shared_prompt = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
  int64_t forks = 0, preempts = 0, hits = 0;
  const auto check = [&] {
    std::vector<int32_t> references(24, 0);
    for (const int64_t slot : open) {
      EXPECT_GE(static_cast<int64_t>(cache.block_table(slot).size()), cache.blocks_for(cache.length(slot)));
      for (const int32_t block : cache.block_table(slot)) ++references[static_cast<size_t>(block)];
    }
    int64_t free = 0;
    for (int32_t block = 0; block < 24; ++block) {
      ASSERT_EQ(cache.blocks().ref_count(block), references[static_cast<size_t>(block)]) << "block " << block;
      free += references[static_cast<size_t>(block)] == 0;
    }
    ASSERT_EQ(cache.blocks().num_free(), free);
  };
  for (int op = 0; op < 3000; ++op) {
    const int kind = std::uniform_int_distribution<int>(0, 5)(rng);
    if (kind == 0 || open.empty()) {  // join, maybe with a known prefix
      const int64_t slot = cache.open_sequence();
      std::vector<int32_t> prompt = shared_prompt;
      prompt.push_back(static_cast<int32_t>(rng() % 40));
      const int64_t cached = cache.attach_prefix(slot, prompt, static_cast<int64_t>(prompt.size()) - 1);
      hits += cached > 0;
      if (!cache.reserve(slot, static_cast<int64_t>(prompt.size()) - cached)) {
        cache.close_sequence(slot);
        continue;
      }
      // What a forward would do: the slot now holds the prompt.
      const model::BatchLayout layout({{.new_tokens = static_cast<int64_t>(prompt.size()) - cached, .past = cached,
                                        .memory_slot = slot}},
                                      at::kCPU);
      cache.begin_forward(layout);
      cache.end_forward();
      cache.publish_full_blocks(slot, prompt);
      tokens[slot] = prompt;
      open.push_back(slot);
    } else {
      const size_t pick = rng() % open.size();
      const int64_t slot = open[pick];
      if (kind == 1 || kind == 2) {  // leave or preempt: both give every block back
        preempts += kind == 2;
        cache.close_sequence(slot);
        open.erase(open.begin() + static_cast<std::ptrdiff_t>(pick));
        tokens.erase(slot);
      } else if (kind == 3) {  // fork
        const int64_t child = cache.fork(slot);
        tokens[child] = tokens[slot];
        open.push_back(child);
        ++forks;
      } else {  // decode one token (copy on write of a shared partial block)
        const int64_t needed = cache.blocks_needed(slot, 1);
        const int64_t free_before = cache.blocks().num_free();
        if (!cache.reserve(slot, 1)) {
          EXPECT_GT(needed, free_before);
          continue;
        }
        EXPECT_EQ(cache.blocks().num_free(), free_before - needed);
        const model::BatchLayout layout({{.new_tokens = 1, .past = cache.length(slot), .memory_slot = slot}}, at::kCPU);
        cache.begin_forward(layout);
        cache.end_forward();
        tokens[slot].push_back(static_cast<int32_t>(rng() % 40));
      }
    }
    check();
    if (HasFailure()) return;
  }
  EXPECT_GT(forks, 100);
  EXPECT_GT(preempts, 100);
  EXPECT_GT(hits, 10);
  for (const int64_t slot : open) cache.close_sequence(slot);
  EXPECT_EQ(cache.blocks().num_free(), 24);
}

TEST(PagedKvCache, CopyOnWriteCopiesTheSharedPartialBlock) {
  const core::TransformerConfig config = caravan::testing::tiny_transformer_config(40);
  PagedKvCache cache(config, /*num_blocks=*/4, /*block_size=*/4, at::kFloat, at::kCPU);
  const int64_t parent = cache.open_sequence();
  ASSERT_TRUE(cache.reserve(parent, 6));
  const model::BatchLayout prefill = model::BatchLayout({{.new_tokens = 6, .past = 0, .memory_slot = parent}}, at::kCPU);
  cache.begin_forward(prefill);
  const at::Tensor keys = at::randn({6, config.num_kv_heads, config.head_dim()});
  for (int64_t layer = 0; layer < config.num_layers; ++layer) cache.store(layer, keys, -keys);
  cache.end_forward();
  const int64_t child = cache.fork(parent);
  EXPECT_EQ(cache.block_table(child), cache.block_table(parent));
  EXPECT_EQ(cache.blocks_needed(child, 1), 1);  // the shared block 1 holds positions 4, 5
  ASSERT_TRUE(cache.reserve(child, 1));
  EXPECT_EQ(cache.block_table(child)[0], cache.block_table(parent)[0]);
  EXPECT_NE(cache.block_table(child)[1], cache.block_table(parent)[1]);
  EXPECT_EQ(cache.blocks_needed(parent, 1), 0);  // now the parent's alone: writes in place
  // The copy holds the parent's keys of positions 4 and 5.
  const model::BatchLayout step({{.new_tokens = 1, .past = 6, .memory_slot = child}}, at::kCPU);
  cache.begin_forward(step);
  cache.store(0, at::zeros({1, config.num_kv_heads, config.head_dim()}), at::zeros({1, config.num_kv_heads, config.head_dim()}));
  const auto [read_keys, read_values] = cache.read(0, 0);  // [1, H_kv, 7, D]
  EXPECT_TRUE(at::equal(read_keys[0].transpose(0, 1).slice(0, 0, 6), keys));
  EXPECT_TRUE(at::equal(read_values[0].transpose(0, 1).slice(0, 0, 6), -keys));
  cache.end_forward();
}

} // namespace
} // namespace caravan::rollout
