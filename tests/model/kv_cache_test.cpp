#include "model/kv_cache.h"

#include <gtest/gtest.h>

#include "core/status.h"

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

TEST(KvCache, AppendsPerLayerAndAdvancesOnce) {
  KvCache cache(config_with(2), /*batch=*/3, /*max_len=*/6, at::kFloat, at::kCPU);
  EXPECT_EQ(cache.length(), 0);
  EXPECT_EQ(cache.batch_size(), 3);
  EXPECT_EQ(cache.num_layers(), 2);
  const at::Tensor k = at::randn({3, 1, 2, 4});
  const at::Tensor v = at::randn({3, 1, 2, 4});
  auto [keys, values] = cache.append(0, k, v);
  EXPECT_TRUE(at::equal(keys, k));
  EXPECT_TRUE(at::equal(values, v));
  (void)cache.append(1, 2 * k, 2 * v);
  cache.advance(2);
  EXPECT_EQ(cache.length(), 2);

  const at::Tensor k2 = at::randn({3, 1, 1, 4});
  auto [keys1, values1] = cache.append(1, k2, k2);
  ASSERT_EQ(keys1.sizes(), (std::vector<int64_t>{3, 1, 3, 4}));
  EXPECT_TRUE(at::equal(keys1.slice(2, 0, 2), 2 * k));
  EXPECT_TRUE(at::equal(keys1.slice(2, 2, 3), k2));
  EXPECT_TRUE(at::equal(values1.slice(2, 0, 2), 2 * v));
}

TEST(KvCache, SelectRowsKeepsTheChosenRowsInOrder) {
  KvCache cache(config_with(1), /*batch=*/3, /*max_len=*/4, at::kFloat, at::kCPU);
  const at::Tensor k = at::arange(3 * 4, at::kFloat).view({3, 1, 1, 4});
  (void)cache.append(0, k, -k);
  cache.advance(1);
  cache.select_rows(at::tensor({2, 0}, at::kLong));
  EXPECT_EQ(cache.batch_size(), 2);
  EXPECT_EQ(cache.length(), 1);
  auto [keys, values] = cache.append(0, at::zeros({2, 1, 1, 4}), at::zeros({2, 1, 1, 4}));
  EXPECT_TRUE(at::equal(keys.slice(2, 0, 1)[0], k[2]));
  EXPECT_TRUE(at::equal(keys.slice(2, 0, 1)[1], k[0]));
  EXPECT_TRUE(at::equal(values.slice(2, 0, 1)[0], -k[2]));
}

TEST(KvCache, OverflowAndBadShapesAreCheckFailures) {
  KvCache cache(config_with(1), /*batch=*/1, /*max_len=*/2, at::kFloat, at::kCPU);
  const at::Tensor three = at::zeros({1, 1, 3, 4});
  EXPECT_THROW((void)cache.append(0, three, three), InternalError);
  const at::Tensor wrong_heads = at::zeros({1, 2, 1, 4});
  EXPECT_THROW((void)cache.append(0, wrong_heads, wrong_heads), InternalError);
  EXPECT_THROW((void)cache.append(1, at::zeros({1, 1, 1, 4}), at::zeros({1, 1, 1, 4})), InternalError);
  EXPECT_THROW(cache.advance(3), InternalError);
  const at::Tensor bf16 = at::zeros({1, 1, 1, 4}, at::kBFloat16);
  EXPECT_THROW((void)cache.append(0, bf16, bf16), InternalError);
}

} // namespace
} // namespace caravan::model
