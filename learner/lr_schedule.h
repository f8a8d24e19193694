// File: learner/lr_schedule.h
// Learning-rate schedules: a linear warm-up, then constant, linear or cosine decay (the shapes
// of transformers' get_{constant,linear,cosine}_schedule_with_warmup, with a floor). Pure
// arithmetic, LibTorch-free; the trainers set the optimizer's rate from it each step.
//
//   double lr = base_lr * learner::lr_multiplier(options.schedule, step, /*total_steps=*/options.steps);
#pragma once

#include <cstdint>

#include "learner/lr_schedule_options.h"

namespace caravan::learner {

// The multiplier of the base learning rate at 0-based `step` of `total_steps` (>= 0):
//   step < warmup_steps:  (step + 1) / warmup_steps
//   afterwards, with p = (step - warmup_steps) / max(1, total_steps - warmup_steps) capped at 1
//   and f = min_lr_ratio:
//     constant  1
//     linear    f + (1 - f) (1 - p)
//     cosine    f + (1 - f) (1 + cos(pi p)) / 2
// A step at or past total_steps keeps the last value. Options are validated by the config layer
// (warmup_steps >= 0, min_lr_ratio in [0, 1]); `step` < 0 is a bug (CARAVAN_CHECK). Thread-safe.
double lr_multiplier(const LrScheduleOptions& options, int64_t step, int64_t total_steps);

} // namespace caravan::learner
