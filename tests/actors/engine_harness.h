// File: tests/actors/engine_harness.h
// What the engine tests (CPU: engine_test.cpp; CUDA: gpu/engine_gpu_test.cpp) share: greedy
// sampling params, running an engine to the end, the full-recompute greedy reference (on the
// model's device) and deterministic prompts.
#pragma once

#include <cstdint>
#include <map>
#include <utility>
#include <vector>

#include <gtest/gtest.h>
#include <torch/utils.h>

#include "actors/rollout/engine.h"
#include "tests/common/llama_rows.h"

namespace caravan::rollout {

inline constexpr int32_t kStopId = 39;

// Greedy sampling of at most max_new_tokens tokens, stopping at kStopId.
inline SamplingParams greedy(int64_t max_new_tokens) {
  return {.temperature = 0.0, .max_new_tokens = max_new_tokens, .stop_ids = {kStopId}};
}

// Runs the engine until idle; outputs keyed by (request id, sample).
inline std::map<std::pair<uint64_t, uint32_t>, SequenceOutput> run_to_end(Engine& engine) {
  std::map<std::pair<uint64_t, uint32_t>, SequenceOutput> out;
  for (int step = 0; !engine.idle(); ++step) {
    EXPECT_LT(step, 10000) << "the engine does not finish";
    if (step >= 10000) break;
    for (SequenceOutput& done : engine.step()) {
      const auto key = std::pair{done.request_id, done.sample};
      EXPECT_FALSE(out.contains(key)) << "request " << done.request_id << " sample " << done.sample << " ended twice";
      out.emplace(key, std::move(done));
    }
  }
  return out;
}

// Greedy decoding by a full forward over the whole sequence at every step: no cache, no batch.
inline std::vector<int32_t> greedy_reference(model::LlamaImpl& model, std::vector<int32_t> sequence, int64_t max_new_tokens) {
  torch::NoGradGuard no_grad;
  std::vector<int32_t> out;
  while (static_cast<int64_t>(out.size()) < max_new_tokens) {
    const at::Tensor tokens = at::tensor(std::vector<int64_t>(sequence.begin(), sequence.end()))
                                  .unsqueeze(0)
                                  .to(model.parameters().front().device());
    const auto next = static_cast<int32_t>(testing::row_logits(model, tokens)[0][-1].argmax().item<int64_t>());
    out.push_back(next);
    sequence.push_back(next);
    if (next == kStopId) break;
  }
  return out;
}

// `length` tokens in [0, 38) (never the stop id), a different sequence per salt.
inline std::vector<int32_t> prompt_of(int64_t length, int32_t salt) {
  std::vector<int32_t> prompt;
  for (int64_t i = 0; i < length; ++i) prompt.push_back(static_cast<int32_t>((i * 7 + salt * 3 + i * i) % 38));
  return prompt;
}

} // namespace caravan::rollout
