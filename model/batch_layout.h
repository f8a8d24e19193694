// File: model/batch_layout.h
// What one forward pass of model::Llama computes: S sequences whose new tokens are flattened,
// sequence after sequence, along one token dimension of N = sum of their new-token counts.
// Sequence i contributes tokens [offset(i), offset(i) + new_tokens) at positions past .. past +
// new_tokens - 1 and attends, causally, its own `past` keys already held by the KV memory
// (model/kv_memory.h) followed by its new tokens; it never sees another sequence's keys. So one
// layout expresses a prefill, a decode step of many sequences, a chunk of a long prompt beside
// decode steps, and several sequences packed into one training row (block-diagonal, causal,
// positions restarting at 0 per sequence).
//
// Attention groups: sequences with the same new-token count attend in one batched product padded
// to the group's longest context. With ContextGrouping::kByContext (the default) such sequences
// are further split by context length so that the attention work (keys gathered and scored)
// follows each sequence's own context, not the longest one in the batch (RL decode steps mix
// contexts of a few dozen and a few thousand tokens).
//
//   // Teacher forcing, no cache: two sequences of 5 and 3 tokens, tokens flattened to [8].
//   model::BatchLayout layout = model::BatchLayout::packed({5, 3}, at::kCPU);
//   at::Tensor logits = llama->forward(tokens /*[8]*/, layout);  // [8, V]
//   // One decode step of cache rows 0 and 2 that hold 7 and 4 tokens:
//   model::BatchLayout step({{.new_tokens = 1, .past = 7, .memory_slot = 0},
//                            {.new_tokens = 1, .past = 4, .memory_slot = 2}}, at::kCPU);
#pragma once

#include <cstdint>
#include <vector>

#include <ATen/ATen.h>

namespace caravan::model {

// How sequences with the same new-token count are split into attention groups.
enum class ContextGrouping {
  // One group per new-token count, padded to its longest context (the benchmark's baseline).
  kLongest,
  // Sorted by context and cut into groups where the padding a cut saves outweighs the fixed cost
  // of one more batched product (kGroupCostKeys below): the least total of padded key slots plus
  // per-group cost. Equal contexts (a training batch) stay one group.
  kByContext,
};

// Immutable after construction; cheap to share by const reference across the layers of a forward.
class BatchLayout {
 public:
  struct Sequence {
    // Tokens of this sequence in this forward, >= 1.
    int64_t new_tokens = 1;
    // Tokens of this sequence already in the KV memory (its context before this call), >= 0;
    // 0 without memory. Its new tokens sit at positions past, past + 1, ...
    int64_t past = 0;
    // Where the KV memory keeps this sequence (a KvCache row, a paged-cache sequence slot);
    // ignored without memory. Distinct sequences of one layout have distinct slots.
    int64_t memory_slot = 0;
  };

  // Sequences attended together in one batched product: some of those with the same new-token
  // count (see ContextGrouping).
  struct Group {
    // Indices into sequences(), ascending.
    std::vector<int64_t> members;
    // The members' common new-token count T.
    int64_t new_tokens = 0;
    // max over members of past + new_tokens: the key length S of the group.
    int64_t keys = 0;
    // Flat token index of member m's token t at [m * T + t], int64 [G * T] on the layout's
    // device; undefined when the members' tokens are the contiguous range [first_token, first_token + G * T).
    at::Tensor token_index;
    int64_t first_token = 0;
    // [G, 1, T, S] bool: member m's query t may read key slot j iff j <= past_m + t.
    at::Tensor allowed;
  };

  // The fixed cost of one attention group (its gathers, products, softmax and scatter) counted in
  // padded key slots of one member's query, for kByContext: a cut that saves fewer padded key
  // slots than this is not made. Measured on CPU: one group's ~10 ATen calls cost about as much
  // as gathering and scoring a few hundred keys of one sequence.
  static constexpr int64_t kGroupCostKeys = 256;

  // `sequences`: non-empty, each new_tokens >= 1 and past >= 0 (CARAVAN_CHECK). Tensors are
  // built on `device`.
  BatchLayout(std::vector<Sequence> sequences, at::Device device,
              ContextGrouping grouping = ContextGrouping::kByContext);

  // "These sequences, no cache": sequence i has lengths[i] new tokens, past 0 and memory slot i.
  static BatchLayout packed(const std::vector<int64_t>& lengths, at::Device device);

  const std::vector<Sequence>& sequences() const { return sequences_; }
  int64_t num_tokens() const { return num_tokens_; }
  // First flat token of sequence i.
  int64_t offset(size_t i) const { return offsets_[i]; }
  // True when some sequence has past > 0 (the forward then needs a KV memory).
  bool reads_memory() const { return reads_memory_; }
  // int64 [N]: the RoPE position of every flat token.
  const at::Tensor& positions() const { return positions_; }
  // int64 [S]: the flat index of every sequence's last token.
  const at::Tensor& last_tokens() const { return last_tokens_; }
  const std::vector<Group>& groups() const { return groups_; }
  at::Device device() const { return positions_.device(); }

 private:
  std::vector<Sequence> sequences_;
  std::vector<int64_t> offsets_;
  int64_t num_tokens_ = 0;
  bool reads_memory_ = false;
  at::Tensor positions_;
  at::Tensor last_tokens_;
  std::vector<Group> groups_;
};

} // namespace caravan::model
