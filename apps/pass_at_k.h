// File: apps/pass_at_k.h
// The unbiased pass@k estimator of Chen et al. (2021, "Evaluating Large Language Models Trained
// on Code"): with n samples of which c are correct, the probability that k samples drawn without
// replacement contain a correct one, 1 - C(n - c, k) / C(n, k), computed as the numerically
// stable product 1 - prod_{i = n - c + 1}^{n} (1 - k / i).
//
//   pass_at_k(/*n=*/10, /*c=*/3, /*k=*/1);   // 0.3
//   pass_at_k(10, 3, 10);                   // 1.0
#pragma once

#include <cstdint>

#include "core/status.h"

namespace caravan::apps {

// 0 <= c <= n and 1 <= k <= n (CARAVAN_CHECK). Pure.
inline double pass_at_k(int64_t n, int64_t c, int64_t k) {
  CARAVAN_CHECK(n >= 1 && c >= 0 && c <= n && k >= 1 && k <= n, "pass_at_k: need 0 <= c <= n and 1 <= k <= n, got n=",
                n, " c=", c, " k=", k);
  if (n - c < k) return 1.0;
  double all_wrong = 1.0;
  for (int64_t i = n - c + 1; i <= n; ++i) all_wrong *= 1.0 - static_cast<double>(k) / static_cast<double>(i);
  return 1.0 - all_wrong;
}

} // namespace caravan::apps
