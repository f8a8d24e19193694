#include "model/linear.h"

#include <ATen/autocast_mode.h>
#include <gtest/gtest.h>

namespace caravan::model {
namespace {

at::Tensor reference(const at::Tensor& x, const at::Tensor& weight, const at::Tensor& bias) {
  return at::linear(x.to(at::kDouble), weight.to(at::kDouble), bias.defined() ? bias.to(at::kDouble) : bias)
      .to(at::kFloat);
}

TEST(Project, OneRowEqualsLinearInEveryLeadingShape) {
  at::manual_seed(3);
  const at::Tensor weight = at::randn({37, 16});
  const at::Tensor bias = at::randn({37});
  for (const std::vector<int64_t>& shape : {std::vector<int64_t>{16}, {1, 16}, {1, 1, 16}}) {
    const at::Tensor x = at::randn(shape);
    for (const at::Tensor& b : {bias, at::Tensor()}) {
      const at::Tensor y = project(x, weight, b);
      std::vector<int64_t> expected_shape = shape;
      expected_shape.back() = 37;
      EXPECT_EQ(y.sizes().vec(), expected_shape);
      EXPECT_TRUE(at::allclose(y, reference(x, weight, b), 1e-5, 1e-5));
    }
  }
}

TEST(Project, SeveralRowsEqualLinear) {
  at::manual_seed(4);
  const at::Tensor weight = at::randn({9, 8});
  const at::Tensor x = at::randn({2, 3, 8});
  EXPECT_TRUE(at::equal(project(x, weight, {}), at::linear(x, weight)));
}

TEST(Project, OneRowGradientsMatchLinear) {
  at::manual_seed(5);
  const at::Tensor weight = at::randn({6, 4}).requires_grad_();
  const at::Tensor bias = at::randn({6}).requires_grad_();
  const at::Tensor x = at::randn({1, 4}).requires_grad_();
  project(x, weight, bias).pow(2).sum().backward();
  const at::Tensor grad_x = x.grad().clone(), grad_w = weight.grad().clone(), grad_b = bias.grad().clone();
  x.grad().zero_();
  weight.grad().zero_();
  bias.grad().zero_();
  at::linear(x, weight, bias).pow(2).sum().backward();
  EXPECT_TRUE(at::allclose(grad_x, x.grad(), 1e-5, 1e-5));
  EXPECT_TRUE(at::allclose(grad_w, weight.grad(), 1e-5, 1e-5));
  EXPECT_TRUE(at::allclose(grad_b, bias.grad(), 1e-5, 1e-5));
}

TEST(Project, OneRowUnderCpuAutocastRunsInBfloat16AsLinearDoes) {
  const at::Tensor weight = at::randn({5, 4});
  const at::Tensor x = at::randn({1, 4});
  at::autocast::set_cpu_enabled(true);
  at::autocast::set_autocast_cpu_dtype(at::kBFloat16);
  const at::Tensor y = project(x, weight, {});
  const at::Tensor expected = at::linear(x, weight);
  at::autocast::set_cpu_enabled(false);
  at::autocast::clear_cache();
  EXPECT_EQ(y.scalar_type(), expected.scalar_type());
  EXPECT_TRUE(at::equal(y, expected));
}

} // namespace
} // namespace caravan::model
