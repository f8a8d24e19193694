#include "actors/rollout/engine_options.h"

#include <gtest/gtest.h>

#include <fstream>
#include <string>

#include <ATen/ATen.h>

#include "actors/rollout/device_memory.h"
#include "actors/rollout/paged_kv_cache.h"
#include "tests/common/tiny_transformer.h"

namespace caravan::rollout {
namespace {

class KvCacheSizing : public ::testing::Test {
 protected:
  core::TransformerConfig config_ = testing::tiny_transformer_config(40);
  // Bytes of one block of 4 positions in float32: 2 (keys, values) x layers x kv heads x head
  // dim x 4 positions x 4 bytes.
  int64_t block_ = PagedKvCache::block_bytes(config_, 4, at::kFloat);
};

TEST_F(KvCacheSizing, BlockBytesCountKeysAndValuesOfEveryLayer) {
  EXPECT_EQ(block_, 2 * config_.num_layers * config_.num_kv_heads * config_.head_dim() * 4 * 4);
}

TEST_F(KvCacheSizing, FractionOfTheAvailableMemoryInWholeBlocks) {
  const EngineOptions options{.kv_cache_fraction = 0.25, .block_size = 4, .max_running = 1000};
  // A quarter of 100.5 blocks' bytes: 25.125 blocks, rounded down.
  const Result<int64_t> blocks = kv_cache_blocks(options, config_, at::kFloat, 100 * block_ + block_ / 2);
  ASSERT_TRUE(blocks.ok()) << blocks.status().to_string();
  EXPECT_EQ(*blocks, 25);
  // The same fraction of twice the memory: twice the blocks.
  EXPECT_EQ(*kv_cache_blocks(options, config_, at::kFloat, 201 * block_), 50);
}

TEST_F(KvCacheSizing, BytesWinOverTheFractionAndTheAvailableMemory) {
  const EngineOptions options{.kv_cache_bytes = 7 * block_ + 1, .kv_cache_fraction = 0.5, .block_size = 4};
  EXPECT_EQ(*kv_cache_blocks(options, config_, at::kFloat, /*available_bytes=*/0), 7);
  EXPECT_EQ(*kv_cache_blocks(options, config_, at::kFloat, 1000 * block_), 7);
}

TEST_F(KvCacheSizing, NeverMoreThanMaxRunningFullContextSequencesUse) {
  const EngineOptions options{.kv_cache_fraction = 1.0, .block_size = 4, .max_running = 2};
  // Each sequence: the whole context in blocks of 4, plus one copy-on-write block.
  const int64_t per_sequence = (config_.max_position_embeddings + 3) / 4 + 1;
  EXPECT_EQ(*kv_cache_blocks(options, config_, at::kFloat, int64_t{1} << 40), 2 * per_sequence);
}

TEST_F(KvCacheSizing, TooLittleMemoryOrBadOptionsNameTheOption) {
  const EngineOptions fraction{.kv_cache_fraction = 0.5, .block_size = 4};
  const Status small = kv_cache_blocks(fraction, config_, at::kFloat, block_).status();
  EXPECT_EQ(small.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(small.message().find("kv_cache_fraction: "), std::string::npos) << small.message();
  const Status bytes = kv_cache_blocks({.kv_cache_bytes = block_ - 1, .block_size = 4}, config_, at::kFloat, 0).status();
  EXPECT_NE(bytes.message().find("kv_cache_bytes: "), std::string::npos) << bytes.message();
  const Status range = kv_cache_blocks({.kv_cache_fraction = 1.5}, config_, at::kFloat, int64_t{1} << 30).status();
  EXPECT_NE(range.message().find("kv_cache_fraction: must be in (0, 1], got 1.5"), std::string::npos)
      << range.message();
}

// MemTotal of /proc/meminfo in bytes.
int64_t mem_total_bytes() {
  std::ifstream meminfo("/proc/meminfo");
  std::string key;
  int64_t kib = 0;
  while (meminfo >> key >> kib) {
    if (key == "MemTotal:") return kib * 1024;
    meminfo.ignore(64, '\n');
  }
  return 0;
}

TEST(AvailableMemory, CpuIsTheHostsAvailableMemory) {
  const Result<int64_t> available = available_memory_bytes(at::Device(at::kCPU));
  ASSERT_TRUE(available.ok()) << available.status().to_string();
  EXPECT_GT(*available, 0);
  EXPECT_LE(*available, mem_total_bytes());
}

TEST(AvailableMemory, CudaIsTheDevicesFreeMemoryOrAClearError) {
  const Result<int64_t> available = available_memory_bytes(at::Device(at::kCUDA, 0));
  if (at::hasCUDA()) {
    ASSERT_TRUE(available.ok()) << available.status().to_string();
    EXPECT_GT(*available, 0);
    return;
  }
  // A CPU build (kFailedPrecondition) or a CUDA build on a machine without a GPU (kUnavailable).
  EXPECT_FALSE(available.ok());
  EXPECT_NE(available.status().message().find("kv_cache_bytes"), std::string::npos) << available.status().message();
}

} // namespace
} // namespace caravan::rollout
