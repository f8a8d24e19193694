// File: tests/learner/finite_difference.h
// Central finite differences for gradient checks of the learner's losses (double precision).
//
//   at::Tensor numeric = testing::central_difference([&](const at::Tensor& x) { return f(x); }, x0);
//   EXPECT_LT(testing::relative_error(x.grad(), numeric), 1e-5);
#pragma once

#include <functional>

#include <ATen/ATen.h>

namespace caravan::learner::testing {

// d f / d x at `point` by (f(x + h e_i) - f(x - h e_i)) / 2h for every element i. `point` must
// be a double tensor; f must not modify its argument.
inline at::Tensor central_difference(const std::function<double(const at::Tensor&)>& f, const at::Tensor& point,
                                     double step = 1e-6) {
  at::NoGradGuard no_grad;
  const at::Tensor x = point.detach().clone().contiguous();
  at::Tensor gradient = at::zeros_like(x);
  const at::Tensor flat_x = x.view({-1});
  const at::Tensor flat_gradient = gradient.view({-1});
  for (int64_t i = 0; i < flat_x.numel(); ++i) {
    const double original = flat_x[i].item<double>();
    flat_x[i] = original + step;
    const double plus = f(x);
    flat_x[i] = original - step;
    const double minus = f(x);
    flat_x[i] = original;
    flat_gradient[i] = (plus - minus) / (2 * step);
  }
  return gradient;
}

// ||a - b|| / max(||b||, tiny): one number for a whole gradient.
inline double relative_error(const at::Tensor& a, const at::Tensor& b) {
  return (a - b).norm().item<double>() / std::max(b.norm().item<double>(), 1e-30);
}

} // namespace caravan::learner::testing
