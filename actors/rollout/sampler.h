// File: actors/rollout/sampler.h
// Next-token sampling for a batch of sequences that each sample their own way. A SequenceSampler
// is one generated sequence's state (settings, random stream, penalty counts, stop matcher);
// sample_tokens() draws one token for each of a batch of them from the model's logits.
//
// For one row, in this order (transformers' logits-processor order, vLLM's penalty order):
//   1. repetition penalty on the tokens of the prompt and of the generated text: a positive
//      logit is divided by repetition_penalty, a negative one multiplied (HF/CTRL);
//   2. presence and frequency penalties on the generated text: logit -= presence_penalty *
//      [count > 0] + frequency_penalty * count (OpenAI/vLLM);
//   3. greedy (temperature 0): the argmax of the penalised logits, and stop here;
//   4. temperature: p = softmax(penalised logits / temperature);
//   5. top-k: keep the top_k most likely tokens;
//   6. top-p on the renormalised top-k distribution: keep a token when the mass of the tokens
//      more likely than it is below top_p (transformers' TopPLogitsWarper);
//   7. min-p: keep tokens with p >= min_p * max p (the ratio does not change with the
//      renormalisations of steps 5-6);
//   8. draw from the kept tokens, renormalised, by inverse CDF with one uniform number from the
//      row's own stream (most likely token first when any of 5-7 truncates, vocabulary order
//      otherwise);
//   9. record: a stop id ends the sequence (kStopToken), else a completed stop string
//      (kStopString), else the max_new_tokens-th token (kLength).
// The reported logprob is log_softmax(raw logits / temperature) of the drawn token (temperature 1
// when greedy), before penalties and truncation, which only decide what can be drawn: this is what
// the learner recomputes (model::token_logprobs). The top logprobs are the top_logprobs largest
// values of that same distribution, most likely first.
//
// Rows are grouped by (temperature, whether they truncate); each group's work is batched on the
// logits' device, and only the drawn ids, their logprobs and the top logprobs reach the host. A
// row's draw depends only on its logits row and its own state, never on the other rows.
//
//   std::vector<SequenceSampler> samplers;  // one per sequence, params.seed set per sequence
//   samplers.emplace_back(params, prompt, token_text.get());
//   std::vector<SequenceSampler*> rows = {&samplers[0]};
//   while (!samplers[0].finished()) {
//     std::vector<SampledToken> next = sample_tokens(model_logits_of_last_position, rows);  // [1, V]
//     ... feed next[0].token to the model ...
//   }
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include <ATen/ATen.h>

#include "actors/rollout/sampling_params.h"
#include "actors/rollout/stop_strings.h"

namespace caravan::rollout {

enum class FinishReason { kStopToken, kStopString, kLength };

// "stop", "stop_string" or "length": the finish_reason of sample files and generate/eval output.
const char* finish_reason_name(FinishReason reason);

struct TokenLogprob {
  int32_t token;
  float logprob;
};

struct SampledToken {
  int32_t token;
  // log_softmax(raw logits / temperature)[token]; see the file comment.
  float logprob;
  // The params.top_logprobs most likely tokens under the same distribution, most likely first;
  // empty when top_logprobs is 0.
  std::vector<TokenLogprob> top;
};

// Per generated sequence: its params, its own random stream (seeded from params.seed; it depends
// on nothing else), the token counts for the penalties, and the stop-string matcher. Survives
// preemption: the engine keeps it while the sequence's KV is recomputed. Not thread-safe (one
// owner). Movable.
class SequenceSampler {
 public:
  // `params` must validate() (CARAVAN_CHECK). token_text: the bytes each token id decodes to;
  // required only when params.stop_strings is non-empty (may be null otherwise); it must outlive
  // the sampler.
  SequenceSampler(SamplingParams params, std::span<const int32_t> prompt, const TokenText* token_text);

  bool finished() const { return finish_reason_.has_value(); }
  std::optional<FinishReason> finish_reason() const { return finish_reason_; }
  // The tokens drawn so far, the stop id or stop-string token included.
  const std::vector<int32_t>& generated() const { return generated_; }
  const SamplingParams& params() const { return params_; }
  // The distinct tokens of the prompt and the generated text, which the repetition penalty acts
  // on; empty when it is off.
  const std::vector<int32_t>& repetition_tokens() const { return seen_; }
  // How often each token was generated, which the presence and frequency penalties act on; empty
  // when both are off.
  const std::unordered_map<int32_t, int64_t>& generated_counts() const { return generated_counts_; }

 private:
  friend std::vector<SampledToken> sample_tokens(const at::Tensor& logits, std::span<SequenceSampler* const> rows);

  // The next number of the row's stream, uniform in [0, 1 - 2^-53].
  double next_uniform();
  // Appends `token` and updates the counts and the finish reason.
  void record(int32_t token);
  bool truncates() const;

  SamplingParams params_;
  const TokenText* token_text_;
  StopStringMatcher stop_strings_;
  std::vector<int32_t> generated_;
  std::optional<FinishReason> finish_reason_;
  uint64_t draws_ = 0;
  // Distinct tokens of prompt + generated text, for the repetition penalty (kept only when it is on).
  std::vector<int32_t> seen_;
  std::unordered_set<int32_t> seen_set_;
  // Count of each generated token, for the presence and frequency penalties (kept only when on).
  std::unordered_map<int32_t, int64_t> generated_counts_;
};

// One token for each row of `logits` [N, V] (floating, any device) drawn with rows[i]'s settings
// and random stream, and recorded in rows[i] (penalty counts, stop detection, max tokens). Every
// row must be unfinished and N == rows.size() (CARAVAN_CHECK). See the file comment.
std::vector<SampledToken> sample_tokens(const at::Tensor& logits, std::span<SequenceSampler* const> rows);

} // namespace caravan::rollout
