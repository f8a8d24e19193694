// File: tests/learner/trainer_test_util.h
// A tiny Llama, GRPO groups and helpers shared by the trainer and checkpoint tests.
//
//   model::Llama policy = testing::tiny_llama(/*seed=*/0);
//   double lp = testing::mean_logprob(*policy, {1, 2}, {3, 4}, /*temperature=*/1.0);
#pragma once

#include <algorithm>
#include <cstdint>
#include <vector>

#include <ATen/ATen.h>
#include <gtest/gtest.h>
#include <torch/nn/module.h>
#include <torch/optim/adamw.h>

#include "learner/grpo_options.h"
#include "learner/rollout_sampling.h"
#include "learner/rollout_batch.h"
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

// The gradients a step left in the parameters (clipped, as the optimizer used them).
inline std::vector<at::Tensor> gradients(const torch::nn::Module& model) {
  std::vector<at::Tensor> out;
  for (const at::Tensor& p : model.parameters()) {
    out.push_back(p.grad().defined() ? p.grad().detach().clone() : at::zeros_like(p));
  }
  return out;
}

// Equal within fp32 rounding of sums taken in another order.
inline void expect_same_gradients(const std::vector<at::Tensor>& expected, const std::vector<at::Tensor>& actual) {
  ASSERT_EQ(expected.size(), actual.size());
  double largest = 0;
  for (const at::Tensor& g : expected) largest = std::max(largest, g.abs().max().item<double>());
  ASSERT_GT(largest, 0.0) << "the reference step has no gradient";
  for (size_t i = 0; i < expected.size(); ++i) {
    const double difference = (expected[i] - actual[i]).abs().max().item<double>();
    EXPECT_LE(difference, 1e-5 * largest + 1e-7) << "parameter " << i;
  }
}

// Optimizer steps AdamW took on `parameter`.
inline int64_t adamw_steps(torch::optim::AdamW& optimizer, const at::Tensor& parameter) {
  const auto& state = optimizer.state();
  const auto found = state.find(c10::guts::to_string(parameter.unsafeGetTensorImpl()));
  if (found == state.end()) return 0;
  return static_cast<const torch::optim::AdamWParamState&>(*found->second).step();
}

// The rollout temperature of the GRPO tests.
inline constexpr double kTemperature = 0.8;

inline learner::GrpoOptions grpo_test_options() {
  learner::GrpoOptions options;
  options.group_size = 4;
  options.learning_rate = 1e-2;
  options.kl.coef = 0.01;
  return options;
}

inline RolloutSampling rollout_test_options() {
  RolloutSampling options;
  options.temperature = kTemperature;
  options.max_new_tokens = 4;
  return options;
}

// Two prompts, four completions each; completion 1 of group 0 and completion 3 of group 1 are
// rewarded. Logprobs are recomputed from the current policy, as on-policy rollouts would be.
inline std::vector<RolloutGroup> rewarded_groups(model::LlamaImpl& policy) {
  const std::vector<std::vector<int32_t>> prompts = {{10, 11, 12}, {20, 21}};
  const std::vector<std::vector<int32_t>> completions = {{50, 51}, {60, 61, 62}, {70}, {80, 81}};
  const size_t rewarded[] = {1, 3};
  std::vector<RolloutGroup> groups;
  for (size_t g = 0; g < prompts.size(); ++g) {
    RolloutGroup group{.prompt_id = 100 + g, .prompt_tokens = prompts[g]};
    for (size_t s = 0; s < completions.size(); ++s) {
      group.samples.push_back({.tokens = completions[s],
                               .logprobs = completion_logprobs(policy, prompts[g], completions[s], kTemperature),
                               .reward = s == rewarded[g] ? 1.0f : 0.0f});
    }
    groups.push_back(std::move(group));
  }
  return groups;
}

} // namespace caravan::learner::testing
