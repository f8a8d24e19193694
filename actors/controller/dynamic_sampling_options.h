// File: actors/controller/dynamic_sampling_options.h
// [grpo] dynamic_sampling*: DAPO's dynamic sampling (Yu et al. 2025) in the controller
// (actors/controller/dynamic_sampling.h). A group whose trained samples all scored the same
// has zero advantage under every group-relative estimator, so it carries no gradient signal.
// LibTorch-free: apps/run_config.h composes these options, apps/run_config_reader.cpp reads them.
#pragma once

#include <array>
#include <cstdint>
#include <string_view>

namespace caravan::controller {

enum class DynamicSampling {
  // Every group trains.
  kOff,
  // Uninformative groups leave the step's TrainBatch; the step trains on fewer groups.
  kDrop,
  // Uninformative groups leave the TrainBatch and each is replaced by a newly drawn prompt
  // until the step has prompts_per_step informative groups, within max_rounds.
  kRefill,
};
inline constexpr std::array<DynamicSampling, 3> kAllDynamicSamplings = {DynamicSampling::kOff, DynamicSampling::kDrop,
                                                                        DynamicSampling::kRefill};
// config.toml spelling: "off", "drop", "refill".
constexpr std::string_view enum_name(DynamicSampling mode) {
  switch (mode) {
    case DynamicSampling::kOff: return "off";
    case DynamicSampling::kDrop: return "drop";
    case DynamicSampling::kRefill: return "refill";
  }
  return "unknown";
}

struct DynamicSamplingOptions {
  // [grpo] dynamic_sampling.
  DynamicSampling mode = DynamicSampling::kOff;
  // [grpo] dynamic_sampling_max_rounds: refill only: one step draws at most this many rounds of
  // prompts_per_step prompts in all (its own round included); past that it trains on the
  // informative groups it has and says so. 1 = no refill (as "drop"). 1..1000.
  int64_t max_rounds = 4;
};

} // namespace caravan::controller
