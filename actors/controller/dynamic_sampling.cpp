#include "actors/controller/dynamic_sampling.h"

#include <optional>

namespace caravan::controller {

bool informative(const LedgerGroup& group) {
  std::optional<float> first;
  for (const LedgerSample& sample : group.samples) {
    if (sample.state != SampleState::kBuffered) continue;
    if (!first) {
      first = sample.reward.score;
    } else if (sample.reward.score != *first) {
      return true;
    }
  }
  return false;
}

DynamicSampler::DynamicSampler(const DynamicSamplingOptions& options, int64_t prompts_per_step)
    : options_(options), prompts_per_step_(static_cast<uint64_t>(prompts_per_step)) {
  CARAVAN_CHECK(prompts_per_step >= 1, "prompts_per_step ", prompts_per_step);
  CARAVAN_CHECK(options.max_rounds >= 1, "dynamic_sampling_max_rounds ", options.max_rounds);
}

uint64_t DynamicSampler::refill_cap() const {
  switch (options_.mode) {
    case DynamicSampling::kOff:
    case DynamicSampling::kDrop: return 0;
    case DynamicSampling::kRefill: return static_cast<uint64_t>(options_.max_rounds - 1) * prompts_per_step_;
  }
  return 0;
}

uint64_t DynamicSampler::batch_target() const {
  return prompts_per_step_ - (step_.dropped_groups - step_.refilled_groups);
}

bool DynamicSampler::drop_group() {
  CARAVAN_CHECK(enabled(), "a group dropped with [grpo] dynamic_sampling = \"off\"");
  CARAVAN_CHECK(batch_target() > 0, "a group dropped from a step that takes none");
  ++step_.dropped_groups;
  ++dropped_groups_;
  if (step_.refilled_groups < refill_cap()) {
    ++step_.refilled_groups;
    ++refills_;
    return true;
  }
  step_.capped = options_.mode == DynamicSampling::kRefill;
  return false;
}

StepFill DynamicSampler::finish_step() {
  const StepFill done = step_;
  step_ = StepFill{};
  return done;
}

nlohmann::json DynamicSampler::to_json() const {
  return {{"refills", refills_},
          {"dropped_groups", dropped_groups_},
          {"step", {{"dropped_groups", step_.dropped_groups},
                    {"refilled_groups", step_.refilled_groups},
                    {"capped", step_.capped}}}};
}

Status DynamicSampler::restore(const nlohmann::json& json) {
  try {
    refills_ = json.at("refills").get<uint64_t>();
    dropped_groups_ = json.at("dropped_groups").get<uint64_t>();
    const nlohmann::json& step = json.at("step");
    step_ = {.dropped_groups = step.at("dropped_groups").get<uint64_t>(),
             .refilled_groups = step.at("refilled_groups").get<uint64_t>(),
             .capped = step.at("capped").get<bool>()};
  } catch (const nlohmann::json::exception& e) {
    return Status::invalid_argument(str_cat("dynamic_sampling: ", e.what()));
  }
  if (step_.refilled_groups > step_.dropped_groups || step_.dropped_groups - step_.refilled_groups > prompts_per_step_) {
    return Status::invalid_argument(str_cat("dynamic_sampling.step: ", step_.dropped_groups, " dropped and ",
                                            step_.refilled_groups, " refilled groups do not fit a step of ",
                                            prompts_per_step_, " prompts ([grpo] prompts_per_step changed?)"));
  }
  return Status();
}

} // namespace caravan::controller
