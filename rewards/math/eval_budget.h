// File: rewards/math/eval_budget.h
// A cooperative deadline for one math check. Parsing, exact evaluation and certified
// comparison call tick() once per unit of work; once the deadline has passed every tick()
// returns StatusCode::kTimeout, so a slow check ends as a timeout, never as a silent verdict.
//
//   EvalBudget budget(std::chrono::milliseconds(200));
//   for (...) CARAVAN_RETURN_IF_ERROR(budget.tick());
#pragma once

#include <chrono>
#include <cstdint>

#include "core/status.h"

namespace caravan::rewards::math {

// Not thread-safe: one budget per verify() call.
class EvalBudget {
 public:
  explicit EvalBudget(std::chrono::milliseconds limit) : end_(std::chrono::steady_clock::now() + limit) {}

  // kTimeout once the deadline has passed (sticky), else ok. Reads the clock every 64 ticks.
  [[nodiscard]] Status tick();
  bool expired() const { return expired_; }

 private:
  std::chrono::steady_clock::time_point end_;
  std::uint64_t steps_ = 0;
  bool expired_ = false;
};

} // namespace caravan::rewards::math
