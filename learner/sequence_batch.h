// File: learner/sequence_batch.h
// Lays variable-length sequences out as the tensors of one teacher-forced forward pass: one
// right-padded row per sequence, or all of them packed back to back in one row. Shared by SFT
// and DPO (tokenised conversations with assistant-only masks, learner/training_sequence.h) and
// RL (prompt + sampled completion): target cell j of a row is the token predicted from the
// row's tokens up to j, within the same sequence.
//
//   std::vector<learner::SequenceSpec> specs = {{.prompt = p, .completion = c, .completion_logprobs = lp}};
//   CARAVAN_ASSIGN_OR_RETURN(learner::SequenceBatch batch, learner::pack_sequences(specs, pad_id, RowLayout::kPacked));
//   at::Tensor hidden = learner::target_hidden_states(*model, batch);   // learner/train_step.h, [R, L-1, H]
//   at::Tensor lp = learner::per_sequence(batch, grid_logprobs);        // [B, T]
//
// Example (pad 0), prompt [5, 6] + completion [7, 8], and prompt [9] + completion [3]:
//   kPadded  tokens [[5, 6, 7, 8], [9, 3, 0, 0]]   segments {4, 4}
//            targets [[6, 7, 8], [3, 0, 0]]        loss_mask [[0, 1, 1], [1, 0, 0]]
//   kPacked  tokens [[5, 6, 7, 8, 9, 3]]           segments {4, 2}
//            targets [[6, 7, 8, 9, 3]]             loss_mask [[0, 1, 1, 0, 1]]
//   per_sequence of either grid: [[x6, x7, x8], [x3, 0, 0]], loss mask [[0, 1, 1], [1, 0, 0]].
// A padded row is one attention block: its padding follows the real tokens, so causal attention
// keeps it out of every real token's view. Packed sequences are separate blocks (positions
// restarting at 0, no attention across them): the same logits as padded rows.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include <ATen/ATen.h>

#include "core/status.h"
#include "core/transformer_config.h"

namespace caravan::learner {

// How sequences share the rows of a forward pass.
enum class RowLayout {
  // One row per sequence, right-padded to the longest.
  kPadded,
  // One row: every sequence back to back, no padding.
  kPacked,
};

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

// A view of one sequence as the layout sees it (the common form of SequenceSpec and
// TrainingSequence); the spans must stay valid during lay_out_sequences only.
struct TokenSequence {
  // Non-empty.
  std::span<const int32_t> ids;
  // Parallel to ids: 1 = trained (predicted from the ids before it); the first id's is ignored.
  std::span<const uint8_t> trained;
  // Empty (old_logprobs 0) or parallel to ids.
  std::span<const float> old_logprobs = {};
};

// CPU tensors of B sequences in R rows of L tokens (L >= 1). The forward's layout is
// model::BatchLayout::packed(segments) over tokens.reshape(-1).
struct SequenceBatch {
  // [R,L] int64, padded with pad_id.
  at::Tensor tokens;
  // Attention blocks, row after row, tiling every row exactly (sum = R * L).
  std::vector<int64_t> segments;
  // [R,L-1] int64 = tokens[:, 1:].
  at::Tensor targets;
  // [R,L-1] float32, 1 exactly where targets[r][j] is a trained token of the sequence of cell j.
  at::Tensor loss_mask;
  // [R,L-1] float32, the old (rollout) logprob of targets[r][j] where loss_mask is 1, else 0.
  at::Tensor old_logprobs;
  // Number of sequences B.
  int64_t sequences = 0;
  // [B,T] int64, T = the longest sequence's length - 1: the flat index in the [R * (L-1)] target
  // grid of sequence b's target t, and R * (L-1) (a cell holding 0, see per_sequence) past its
  // end. Undefined for kPadded, whose grid already is one sequence per row.
  at::Tensor sequence_cells;
  // Number of trained tokens = loss_mask.sum().
  int64_t completion_tokens = 0;
};

// The [B,T] per-sequence view of a [R,L-1] target-grid tensor (sequence b's target t at [b][t],
// 0 past its end); differentiable, on the grid's device. For kPadded, `grid` itself.
at::Tensor per_sequence(const SequenceBatch& batch, const at::Tensor& grid);

// The one layout path. Returns kInvalidArgument, naming the sequence index, for an empty batch,
// an empty sequence, or trained/old_logprobs lengths that do not match the ids. Thread-safe.
Result<SequenceBatch> lay_out_sequences(std::span<const TokenSequence> sequences, int32_t pad_id, RowLayout layout);

// (prompt, completion) pairs: the completion tokens are trained, their old_logprobs the
// completion_logprobs. kInvalidArgument, naming the sequence index, for an empty batch, an empty
// prompt, or completion_logprobs whose length is neither 0 nor the completion's. Thread-safe.
Result<SequenceBatch> pack_sequences(const std::vector<SequenceSpec>& sequences, int32_t pad_id,
                                     RowLayout layout = RowLayout::kPadded);

// Checks one sequence against a model before packing: the structure checked by pack_sequences,
// every token id in [0, config.vocab_size), and prompt + completion no longer than
// config.max_position_embeddings. Returns kInvalidArgument saying which rule failed (callers
// add which sequence). Thread-safe.
Status validate_sequence(const SequenceSpec& sequence, const core::TransformerConfig& config);

} // namespace caravan::learner
