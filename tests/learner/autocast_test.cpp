#include "learner/autocast.h"

#include <ATen/autocast_mode.h>
#include <gtest/gtest.h>

namespace caravan::learner {
namespace {

TEST(BfloatAutocast, RunsMatmulsInBfloat16InsideTheScopeOnly) {
  const at::Tensor a = at::randn({4, 8});
  const at::Tensor b = at::randn({8, 3});
  {
    const BfloatAutocast autocast(at::kCPU, /*enabled=*/true);
    EXPECT_EQ(at::mm(a, b).scalar_type(), at::kBFloat16);
    EXPECT_EQ(at::linear(a, b.t()).scalar_type(), at::kBFloat16);
    {
      // A disabled scope inside changes nothing.
      const BfloatAutocast off(at::kCPU, /*enabled=*/false);
      EXPECT_EQ(at::mm(a, b).scalar_type(), at::kBFloat16);
    }
  }
  EXPECT_FALSE(at::autocast::is_cpu_enabled());
  EXPECT_EQ(at::mm(a, b).scalar_type(), at::kFloat);
}

// fp32 master weights: the parameter and its gradient stay float32; the product is bf16-rounded.
TEST(BfloatAutocast, GradientsReachTheFloat32Parameters) {
  at::manual_seed(2);
  const at::Tensor w = at::randn({8, 3}).requires_grad_(true);
  const at::Tensor x = at::randn({4, 8});
  at::Tensor y;
  {
    const BfloatAutocast autocast(at::kCPU, /*enabled=*/true);
    y = at::mm(x, w);
  }
  y.to(at::kFloat).sum().backward();
  EXPECT_EQ(w.scalar_type(), at::kFloat);
  ASSERT_TRUE(w.grad().defined());
  EXPECT_EQ(w.grad().scalar_type(), at::kFloat);
  // d sum(x w) / d w = x^T 1, up to bfloat16 rounding of x.
  EXPECT_TRUE(at::allclose(w.grad(), x.sum(0).unsqueeze(1).expand({8, 3}), 2e-2, 2e-2));
  EXPECT_FALSE(at::equal(y.to(at::kFloat), at::mm(x, w.detach())));
}

} // namespace
} // namespace caravan::learner
