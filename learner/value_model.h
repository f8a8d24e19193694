// File: learner/value_model.h
// PPO's value model (critic): a causal transformer body with a scalar head hidden -> 1 (no
// bias), V(s) = head(final-normed hidden state of s). The value of completion token t is read
// from the hidden state that predicts token t (the state before t is emitted): the alignment of
// the policy's logprobs (learner/train_step.h target_hidden_states), so V lines up with
// SequenceBatch::targets and loss_mask. Two starting points ([value_model],
// learner/value_model_options.h):
//   value_model_from_policy    a trainable deep copy of the policy's transformer (frozen_copy's
//                              copy, but with gradients) and a zero head, so V = 0 at first
//   load_value_model           a Hugging Face directory: a reward model of the
//                              *ForSequenceClassification layout ("model.*" + "score.weight"
//                              [1, hidden], as Tülu 3 initialised its value model) or a causal
//                              LM (its "lm_head.weight" is not used; the head starts at 0)
// The body never has an output head (its config says tie_word_embeddings), so no [vocab x
// hidden] matrix is held or trained for the critic.
//
//   learner::ValueModel critic = learner::value_model_from_policy(policy);
//   at::Tensor values = critic->forward(batch);   // [B, L-1] float32, row j: V before targets[:, j]
#pragma once

#include <filesystem>

#include <ATen/ATen.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/module.h>

#include "core/status.h"
#include "core/transformer_config.h"
#include "learner/sequence_batch.h"
#include "model/llama.h"

namespace caravan::learner {

// Parameters: "body.<the model/llama.h names without lm_head>" and "head.weight" [1, hidden].
// Not thread-safe (training mutates parameters).
class ValueModelImpl : public torch::nn::Module {
 public:
  // A body of `config` (tie_word_embeddings forced on: no output head) with weights left for the
  // caller to fill (model::WeightInit::kNone), and a zero head; float32 on the CPU.
  explicit ValueModelImpl(const core::TransformerConfig& config);

  // V of every position that predicts a target: [B, L-1] float32 on the model's device (whatever
  // the parameters' dtype), the same rows and columns as batch.targets. Records autograd history
  // unless the caller holds a NoGradGuard.
  at::Tensor forward(const SequenceBatch& batch);

  model::Llama& body() { return body_; }
  torch::nn::Linear& head() { return head_; }

 private:
  model::Llama body_{nullptr};
  torch::nn::Linear head_{nullptr};
};
TORCH_MODULE(ValueModel);

// A value model whose body is a copy of `policy`'s transformer (config, device, dtype, weights
// and buffers; the policy's output head is left out) and whose head is 0. Its parameters
// require gradients and it is in train mode; `policy` is not changed.
ValueModel value_model_from_policy(const model::Llama& policy);

// The value model of the Hugging Face directory `dir` in `dtype` on the CPU: config.json (a
// *ForSequenceClassification class counts as its *ForCausalLM body; "num_labels", when present,
// must be 1) and the weights of model/checkpoint_io.h's layouts: "model.*" into the body,
// "score.weight" [1, hidden] into the head, "lm_head.weight" ignored. Without "score.weight" the
// head is 0 (logged). `policy_vocab_size`: the policy's token ids must be in the value model's
// vocabulary. Errors name the file and the key or tensor: kNotFound for a missing file;
// kInvalidArgument for a config Caravan cannot represent, a smaller vocabulary, a body tensor
// missing, a tensor of another shape or one the value model does not have.
Result<ValueModel> load_value_model(const std::filesystem::path& dir, int64_t policy_vocab_size, at::ScalarType dtype);

// The value model's parameters, each in its own dtype, as one safetensors file (atomically), and
// back. Loading requires every parameter in the file with its shape (kInvalidArgument naming the
// file and tensor otherwise; kNotFound for no file); on error the model may be partly
// overwritten.
Status save_value_model_parameters(const std::filesystem::path& file, ValueModelImpl& model);
Status load_value_model_parameters(const std::filesystem::path& file, ValueModelImpl& model);

} // namespace caravan::learner
