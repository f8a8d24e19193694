// File: learner/sequence_batch.h
// Packs variable-length (prompt, completion) pairs into right-padded tensors for one
// teacher-forced forward pass. Shared by SFT (prompt, answer) and GRPO (prompt, sampled
// completion): position j of `targets` is the token predicted from positions <= j.
//
//   std::vector<learner::SequenceSpec> specs = {{.prompt = p, .completion = c, .completion_logprobs = lp}};
//   CARAVAN_ASSIGN_OR_RETURN(learner::SequenceBatch batch, learner::pack_sequences(specs, pad_id));
//   at::Tensor logits = learner::target_logits(*model, batch);  // learner/train_step.h
//
// Example (pad 0), prompt [5, 6] + completion [7, 8], and prompt [9] + completion [3]:
//   tokens       [[5, 6, 7, 8], [9, 3, 0, 0]]     positions [[0,1,2,3], [0,1,2,3]]
//   key_mask     [[1, 1, 1, 1], [1, 1, 0, 0]]
//   targets      [[6, 7, 8],    [3, 0, 0]]
//   loss_mask    [[0, 1, 1],    [1, 0, 0]]
//   old_logprobs [[0, lp7, lp8], [lp3, 0, 0]]
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include <ATen/ATen.h>

#include "core/status.h"
#include "core/transformer_config.h"

namespace caravan::learner {

// A view of one sequence; the spans must stay valid during pack_sequences only.
struct SequenceSpec {
  // Non-empty (the first completion token is predicted from the last prompt token).
  std::span<const int32_t> prompt = {};
  // May be empty (the sequence then contributes no loss).
  std::span<const int32_t> completion = {};
  // Either empty (no rollout logprobs, e.g. SFT: old_logprobs stays 0) or one per completion
  // token.
  std::span<const float> completion_logprobs = {};
};

// Right-padded CPU tensors; B sequences, L = the longest prompt + completion (>= 1).
struct SequenceBatch {
  // [B,L] int64, padded with pad_id.
  at::Tensor tokens;
  // [B,L] int64, 0..L-1 on every row.
  at::Tensor positions;
  // [B,L] bool, true = real token.
  at::Tensor key_mask;
  // [B,L-1] int64 = tokens[:, 1:].
  at::Tensor targets;
  // [B,L-1] float32, 1 exactly where targets[b][j] is a completion token.
  at::Tensor loss_mask;
  // [B,L-1] float32, the rollout logprob of targets[b][j] where loss_mask is 1, else 0.
  at::Tensor old_logprobs;
  // Number of completion tokens = loss_mask.sum().
  int64_t completion_tokens = 0;
};

// Returns kInvalidArgument, naming the sequence index, for an empty batch, an empty prompt, or
// completion_logprobs whose length is neither 0 nor the completion's. Thread-safe.
Result<SequenceBatch> pack_sequences(const std::vector<SequenceSpec>& sequences, int32_t pad_id);

// Checks one sequence against a model before packing: the structure checked by pack_sequences,
// every token id in [0, config.vocab_size), and prompt + completion no longer than
// config.max_position_embeddings. Returns kInvalidArgument saying which rule failed (callers
// add which sequence). Thread-safe.
Status validate_sequence(const SequenceSpec& sequence, const core::TransformerConfig& config);

} // namespace caravan::learner
