// File: actors/rollout/sampling_params.h
// One request's sampling settings: how each next token of a sequence is chosen (see
// actors/rollout/sampler.h for the order in which they apply) and when the sequence ends. A plain
// value, no LibTorch; requests, the [rollout] config and the generate/eval flags fill it.
//
//   SamplingParams params{.temperature = 0.7, .top_p = 0.95, .max_new_tokens = 256,
//                         .stop_ids = encoder.stop_ids(), .seed = sampling_seed(seed, prompt, sample)};
//   CARAVAN_RETURN_IF_ERROR(params.validate());
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/status.h"

namespace caravan::rollout {

struct SamplingParams {
  // Divides the logits before softmax; 0 = greedy (argmax), >= 0.
  double temperature = 1.0;
  // Nucleus: keep the smallest set of most likely tokens whose probability reaches top_p (the
  // most likely token always stays). (0, 1]; 1 = off.
  double top_p = 1.0;
  // Keep the top_k most likely tokens; 0 = off, >= 0.
  int64_t top_k = 0;
  // Keep tokens with p >= min_p * p(most likely token). [0, 1); 0 = off.
  double min_p = 0.0;
  // > 0; 1 = off (HF/CTRL: on tokens of the prompt and the generated text, positive logits are
  // divided by it, negative ones multiplied).
  double repetition_penalty = 1.0;
  // OpenAI/vLLM: subtracted from the logit of every token generated at least once. [-2, 2].
  double presence_penalty = 0.0;
  // OpenAI/vLLM: times a token's count in the generated text, subtracted from its logit. [-2, 2].
  double frequency_penalty = 0.0;
  // Tokens generated at most, >= 1.
  int64_t max_new_tokens = 8;
  // Ids that end the sequence (kept as its last token); non-empty.
  std::vector<int32_t> stop_ids = {};
  // Byte strings that end the sequence once its decoded text contains one; the sequence ends
  // with the token that completed it. Each non-empty.
  std::vector<std::string> stop_strings = {};
  // 0 = off; else also report the top_logprobs most likely tokens' logprobs at each step. [0, 20].
  int64_t top_logprobs = 0;
  // This sequence's seed (sampling_seed(request seed, prompt index, sample index)).
  uint64_t seed = 0;

  // kInvalidArgument naming the field ("SamplingParams.top_p: must be in (0, 1], got 1.5").
  [[nodiscard]] Status validate() const;
};

// The seed of sample `sample_index` of prompt `prompt_index` of a request seeded with `seed`.
uint64_t sampling_seed(uint64_t seed, uint64_t prompt_index, uint64_t sample_index);

// Largest allowed top_logprobs (OpenAI's limit).
inline constexpr int64_t kMaxTopLogprobs = 20;
// Largest allowed |presence_penalty| and |frequency_penalty| (OpenAI's range).
inline constexpr double kMaxAbsPenalty = 2.0;

} // namespace caravan::rollout
