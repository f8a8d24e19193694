// File: learner/micro_batch.h
// Cuts a batch of sequences into the optimizer steps (mini-batches) and the forward/backward
// passes (micro-batches) of learner/batching_options.h. Every part is a contiguous range of the
// batch's sequences, in order, so per-sequence tensors of the whole batch (advantages, masks,
// reference logprobs) are sliced by rows.
//
//   std::vector<int64_t> lengths = {12, 30, 7, 25};       // prompt + completion tokens
//   for (const learner::MiniBatch& mini : learner::plan_mini_batches(lengths, options.batching)) {
//     optimizer.zero_grad();
//     for (const learner::SequenceRange& micro : mini.micro_batches) { /* forward, loss, backward */ }
//     clip_and_step(...);
//   }
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "learner/batching_options.h"
#include "learner/sequence_batch.h"

namespace caravan::learner {

// Sequences [begin, end) of a batch.
struct SequenceRange {
  int64_t begin = 0;
  int64_t end = 0;

  int64_t size() const { return end - begin; }
};

// One optimizer step: its sequences and their forward/backward passes, which tile them in order.
struct MiniBatch {
  SequenceRange sequences;
  std::vector<SequenceRange> micro_batches;
};

// Rows `range` and the first `columns` columns of a per-sequence [B,T] tensor of the whole batch
// (a view): the cells of those sequences' [b, columns] per-sequence grid (per_sequence).
at::Tensor rows_of(const at::Tensor& whole, SequenceRange range, int64_t columns);

// kPacked when options.pack_sequences, else kPadded.
RowLayout row_layout(const MicroBatchOptions& options);

// Tokens a forward runs over for sequences of these lengths (>= 1 each): with padding, count x
// the longest; packed, the sum.
int64_t forward_tokens(std::span<const int64_t> lengths, RowLayout layout);

// Cuts `range` of `lengths` into contiguous micro-batches, greedily in order, each of
// forward_tokens <= options.micro_batch_tokens, except a single sequence over the budget, which
// gets one of its own; micro_batch_tokens 0 = the whole range. An empty range gives none.
std::vector<SequenceRange> split_by_token_budget(std::span<const int64_t> lengths, SequenceRange range,
                                                 const MicroBatchOptions& options);

// What a cut into more parts than there are sequences makes of the parts that get none.
enum class EmptyParts {
  // Left out: min(parts, sequences) parts (one learner: an empty part would make no step).
  kDrop,
  // Kept, last: exactly `parts` parts. Data-parallel ranks cut their shares this way, so that
  // every rank has the same number of mini-batches and makes the same collectives
  // (learner/data_parallel.h), whatever its share.
  kKeep,
};

// Cuts `range` into contiguous parts whose sizes differ by at most one (the first ones larger):
// min(parts, range.size()) of them, or `parts` with kKeep. parts >= 1 (CARAVAN_CHECK).
std::vector<SequenceRange> split_evenly(SequenceRange range, int64_t parts, EmptyParts empty = EmptyParts::kDrop);

// The optimizer steps of one pass (epoch) over the sequences of `lengths`: options.mini_batches
// even parts (split_evenly, keeping or dropping empty ones as `empty` says), each cut into
// micro-batches (split_by_token_budget; none for an empty part).
std::vector<MiniBatch> plan_mini_batches(std::span<const int64_t> lengths, const RlBatchingOptions& options,
                                         EmptyParts empty = EmptyParts::kDrop);

} // namespace caravan::learner
