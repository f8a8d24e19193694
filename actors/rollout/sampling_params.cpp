#include "actors/rollout/sampling_params.h"

#include <cmath>

#include "core/hash.h"

namespace caravan::rollout {

uint64_t sampling_seed(uint64_t seed, uint64_t prompt_index, uint64_t sample_index) {
  return core::splitmix64(seed ^ core::splitmix64(prompt_index ^ core::splitmix64(sample_index)));
}

Status SamplingParams::validate() const {
  const auto invalid = [](std::string_view field, auto&&... what) {
    return Status::invalid_argument(str_cat("SamplingParams.", field, ": ", what...));
  };
  if (!(temperature >= 0 && std::isfinite(temperature))) return invalid("temperature", "must be >= 0, got ", temperature);
  if (!(top_p > 0 && top_p <= 1)) return invalid("top_p", "must be in (0, 1], got ", top_p);
  if (top_k < 0) return invalid("top_k", "must be >= 0 (0 = off), got ", top_k);
  if (!(min_p >= 0 && min_p < 1)) return invalid("min_p", "must be in [0, 1), got ", min_p);
  if (!(repetition_penalty > 0 && std::isfinite(repetition_penalty))) {
    return invalid("repetition_penalty", "must be > 0 (1 = off), got ", repetition_penalty);
  }
  if (!(std::abs(presence_penalty) <= kMaxAbsPenalty)) {
    return invalid("presence_penalty", "must be in [-", kMaxAbsPenalty, ", ", kMaxAbsPenalty, "], got ", presence_penalty);
  }
  if (!(std::abs(frequency_penalty) <= kMaxAbsPenalty)) {
    return invalid("frequency_penalty", "must be in [-", kMaxAbsPenalty, ", ", kMaxAbsPenalty, "], got ", frequency_penalty);
  }
  if (max_new_tokens < 1) return invalid("max_new_tokens", "must be >= 1, got ", max_new_tokens);
  if (stop_ids.empty()) return invalid("stop_ids", "must not be empty");
  for (size_t i = 0; i < stop_strings.size(); ++i) {
    if (stop_strings[i].empty()) return invalid(str_cat("stop_strings[", i, "]"), "must not be empty");
  }
  if (top_logprobs < 0 || top_logprobs > kMaxTopLogprobs) {
    return invalid("top_logprobs", "must be in [0, ", kMaxTopLogprobs, "], got ", top_logprobs);
  }
  return Status();
}

} // namespace caravan::rollout
