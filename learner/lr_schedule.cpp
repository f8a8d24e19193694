#include "learner/lr_schedule.h"

#include <algorithm>
#include <cmath>
#include <numbers>

#include "core/status.h"

namespace caravan::learner {

double lr_multiplier(const LrScheduleOptions& options, int64_t step, int64_t total_steps) {
  CARAVAN_CHECK(step >= 0 && total_steps >= 0, "lr schedule: step ", step, " of ", total_steps);
  if (step < options.warmup_steps) {
    return static_cast<double>(step + 1) / static_cast<double>(options.warmup_steps);
  }
  const double decay_steps = static_cast<double>(std::max<int64_t>(1, total_steps - options.warmup_steps));
  const double progress = std::min(1.0, static_cast<double>(step - options.warmup_steps) / decay_steps);
  const double floor = options.min_lr_ratio;
  switch (options.kind) {
    case LrScheduleKind::kConstant: return 1.0;
    case LrScheduleKind::kLinear: return floor + (1.0 - floor) * (1.0 - progress);
    case LrScheduleKind::kCosine: return floor + (1.0 - floor) * 0.5 * (1.0 + std::cos(std::numbers::pi * progress));
  }
  CARAVAN_CHECK(false, "unknown lr schedule ", static_cast<int>(options.kind));
  return 1.0;
}

} // namespace caravan::learner
