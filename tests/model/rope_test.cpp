#include "model/rope.h"

#include <cmath>

#include <gtest/gtest.h>

namespace caravan::model {
namespace {

at::Tensor positions_of(std::vector<int64_t> values) {
  return at::tensor(values, at::kLong).unsqueeze(0);  // [1, T]
}

TEST(Rope, InverseFrequencies) {
  const at::Tensor inv_freq = rope_inv_freq(/*head_dim=*/4, /*theta=*/100.0, at::kCPU);
  ASSERT_EQ(inv_freq.sizes(), (std::vector<int64_t>{2}));
  EXPECT_FLOAT_EQ(inv_freq[0].item<float>(), 1.0f);
  EXPECT_FLOAT_EQ(inv_freq[1].item<float>(), 0.1f);  // 100^(-2/4)
}

TEST(Rope, RotatesHalvesByPositionTimesFrequency) {
  // head_dim 2: one frequency (1), x = [1, 0] at position p becomes [cos p, sin p].
  const RopeTables tables = rope_tables(positions_of({0, 1, 2}), /*head_dim=*/2, /*theta=*/10000.0, at::kFloat);
  ASSERT_EQ(tables.cos.sizes(), (std::vector<int64_t>{1, 1, 3, 2}));
  const at::Tensor x = at::tensor({1.0f, 0.0f}).expand({1, 1, 3, 2});
  const at::Tensor y = apply_rope(x, tables);
  for (int p = 0; p < 3; ++p) {
    EXPECT_NEAR(y[0][0][p][0].item<float>(), std::cos(p), 1e-6);
    EXPECT_NEAR(y[0][0][p][1].item<float>(), std::sin(p), 1e-6);
  }
  // x = [0, 1]: rotate_half gives [-1, 0], so y = [-sin p, cos p].
  const at::Tensor y2 = apply_rope(at::tensor({0.0f, 1.0f}).expand({1, 1, 3, 2}), tables);
  EXPECT_NEAR(y2[0][0][2][0].item<float>(), -std::sin(2.0), 1e-6);
  EXPECT_NEAR(y2[0][0][2][1].item<float>(), std::cos(2.0), 1e-6);
}

TEST(Rope, PositionZeroIsIdentityAndNormsArePreserved) {
  const at::Tensor x = at::randn({2, 3, 4, 8});  // [B, H, T, D]
  const at::Tensor zeros = at::zeros({2, 4}, at::kLong);
  EXPECT_TRUE(at::allclose(apply_rope(x, rope_tables(zeros, 8, 10000.0, at::kFloat)), x));
  const at::Tensor positions = at::randint(0, 1000, {2, 4}, at::kLong);
  const at::Tensor y = apply_rope(x, rope_tables(positions, 8, 10000.0, at::kFloat));
  EXPECT_TRUE(at::allclose(y.norm(2, -1), x.norm(2, -1), 1e-4, 1e-5));
}

TEST(Rope, DotProductDependsOnlyOnRelativePosition) {
  const at::Tensor q = at::randn({1, 1, 1, 16});
  const at::Tensor k = at::randn({1, 1, 1, 16});
  auto score = [&](int64_t m, int64_t n) {
    const at::Tensor qm = apply_rope(q, rope_tables(positions_of({m}), 16, 10000.0, at::kFloat));
    const at::Tensor kn = apply_rope(k, rope_tables(positions_of({n}), 16, 10000.0, at::kFloat));
    return (qm * kn).sum().item<float>();
  };
  EXPECT_NEAR(score(5, 3), score(12, 10), 1e-4);
  EXPECT_NEAR(score(0, 7), score(20, 27), 1e-4);
  EXPECT_GT(std::abs(score(5, 3) - score(5, 4)), 1e-4);
}

} // namespace
} // namespace caravan::model
