#include "rewards/math/eval_budget.h"

namespace caravan::rewards::math {

Status EvalBudget::tick() {
  if (!expired_ && (++steps_ & 63) == 0 && std::chrono::steady_clock::now() >= end_) expired_ = true;
  if (expired_) return Status::timeout("math check exceeded its deadline");
  return Status::ok_status();
}

} // namespace caravan::rewards::math
