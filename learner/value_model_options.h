// File: learner/value_model_options.h
// [value_model]: the value model (critic) of PPO with GAE (learner/value_model.h,
// learner/value_trainer.h). It is used exactly when [grpo] advantage_estimator = "gae"; it has
// its own AdamW optimizer and is trained on the clipped value loss of learner/policy_loss.h.
// LibTorch-free: the config reader fills it.
//
//   [value_model]
//   source = "policy"          # or: path = "/models/Llama-3.1-Tulu-3-8B-RM"
//   learning_rate = 1e-5
#pragma once

#include <cstdint>
#include <string>

namespace caravan::learner {

struct ValueModelOptions {
  // [value_model] source: "" (none) or "policy": a trainable copy of the policy's transformer
  // taken at the first RL step (the SFT result), with a new zero-initialised scalar head.
  std::string source;
  // [value_model] path: a Hugging Face model directory (e.g. a reward model of the
  // LlamaForSequenceClassification / Qwen3ForSequenceClassification layout, head
  // "score.weight" [1, hidden]) whose transformer and score head start the value model; a
  // directory without "score.weight" gets a zero-initialised head (logged). Its vocabulary must
  // cover the policy's. Set at most one of source and path.
  std::string path;
  // [value_model] learning_rate: the value model's AdamW learning rate, in (0, 1).
  double learning_rate = 1e-5;
  // [value_model] weight_decay: AdamW weight decay, >= 0.
  double weight_decay = 0.0;
  // [value_model] warmup_steps: linear learning-rate warm-up over this many TrainBatches, >= 0
  // (0 = none; the rate is constant afterwards). Like the policy's schedule it counts
  // TrainBatches: the mini_batches x epochs optimizer steps of one share a rate.
  int64_t warmup_steps = 0;
  // [value_model] loss_coef: the value loss is multiplied by this before the backward pass, > 0.
  double loss_coef = 1.0;
  // [value_model] vf_clip: the new value may leave the old one by at most this in the clipped
  // branch of the value loss (PPO's value clipping), > 0.
  double vf_clip = 0.2;

  bool enabled() const { return !source.empty() || !path.empty(); }
};

} // namespace caravan::learner
