// File: learner/lr_schedule_options.h
// The learning-rate schedule ([grpo] lr_schedule, warmup_steps, min_lr_ratio), taken by
// learner/lr_schedule.h.
// The run config (apps/run_config.h) holds one; apps/run_config_reader.cpp fills it from TOML.
#pragma once

#include <array>
#include <cstdint>
#include <string_view>

namespace caravan::learner {

// The learning-rate multiplier after the warm-up (learner/lr_schedule.h).
enum class LrScheduleKind {
  kConstant,
  // Linear decay to min_lr_ratio at the last step.
  kLinear,
  // Half-cosine decay to min_lr_ratio at the last step.
  kCosine,
};
inline constexpr std::array<LrScheduleKind, 3> kAllLrScheduleKinds = {LrScheduleKind::kConstant,
                                                                      LrScheduleKind::kLinear,
                                                                      LrScheduleKind::kCosine};
// config.toml spelling: "constant", "linear", "cosine".
constexpr std::string_view enum_name(LrScheduleKind kind) {
  switch (kind) {
    case LrScheduleKind::kConstant: return "constant";
    case LrScheduleKind::kLinear: return "linear";
    case LrScheduleKind::kCosine: return "cosine";
  }
  return "unknown";
}

// [grpo] lr_schedule, warmup_steps, min_lr_ratio: learner/lr_schedule.h.
struct LrScheduleOptions {
  // [grpo] lr_schedule.
  LrScheduleKind kind = LrScheduleKind::kConstant;
  // [grpo] warmup_steps: linear warm-up from learning_rate / warmup_steps, >= 0.
  int64_t warmup_steps = 0;
  // [grpo] min_lr_ratio: the multiplier linear and cosine decay to, in [0, 1].
  double min_lr_ratio = 0.0;
};

} // namespace caravan::learner
