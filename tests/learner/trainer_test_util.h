// File: tests/learner/trainer_test_util.h
// A tiny Llama and helpers shared by the trainer tests.
//
//   model::Llama policy = testing::tiny_llama(/*seed=*/0);
//   double lp = testing::mean_logprob(*policy, {1, 2}, {3, 4}, /*temperature=*/1.0);
#pragma once

#include <cstdint>
#include <vector>

#include <ATen/ATen.h>

#include "learner/sequence_batch.h"
#include "learner/train_step.h"
#include "model/llama.h"
#include "model/logprobs.h"

namespace caravan::learner::testing {

inline model::Llama tiny_llama(uint64_t seed) {
  core::TransformerConfig config;
  config.vocab_size = 259;
  config.hidden_size = 32;
  config.intermediate_size = 64;
  config.num_layers = 2;
  config.num_heads = 4;
  config.num_kv_heads = 2;
  config.max_position_embeddings = 32;
  at::manual_seed(seed);
  return model::Llama(config);
}

// Per-token logprobs of `completion` after `prompt` under `model` (no gradient).
inline std::vector<float> completion_logprobs(model::LlamaImpl& model, const std::vector<int32_t>& prompt,
                                              const std::vector<int32_t>& completion, double temperature) {
  at::NoGradGuard no_grad;
  const SequenceBatch batch = pack_sequences({{.prompt = prompt, .completion = completion}}, /*pad_id=*/0).value();
  const at::Tensor logprobs = model::token_logprobs(target_logits(model, batch), batch.targets, temperature);
  const auto first = static_cast<int64_t>(prompt.size()) - 1;
  const at::Tensor span = logprobs[0].slice(0, first, first + static_cast<int64_t>(completion.size())).contiguous();
  return std::vector<float>(span.data_ptr<float>(), span.data_ptr<float>() + span.numel());
}

inline double mean_logprob(model::LlamaImpl& model, const std::vector<int32_t>& prompt,
                           const std::vector<int32_t>& completion, double temperature) {
  double sum = 0;
  for (float lp : completion_logprobs(model, prompt, completion, temperature)) sum += lp;
  return sum / static_cast<double>(completion.size());
}

// Copies of all parameters, to check whether a call changed the weights.
inline std::vector<at::Tensor> snapshot(const model::LlamaImpl& model) {
  std::vector<at::Tensor> copies;
  for (const at::Tensor& p : model.parameters()) copies.push_back(p.detach().clone());
  return copies;
}

inline bool same_weights(const model::LlamaImpl& model, const std::vector<at::Tensor>& copies) {
  const std::vector<at::Tensor> parameters = model.parameters();
  for (size_t i = 0; i < parameters.size(); ++i) {
    if (!at::equal(parameters[i], copies[i])) return false;
  }
  return true;
}

} // namespace caravan::learner::testing
