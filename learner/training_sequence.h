// File: learner/training_sequence.h
// A tokenised training example of the stages before RL (SFT, DPO): the token ids of a whole
// conversation and, parallel to them, which tokens are trained (the assistant's, under the chat
// template's loss mask). pack_training_sequences lays a batch of them out for one
// teacher-forced forward pass, the same SequenceBatch the GRPO path uses, padded (one row each)
// or packed (one row, positions restarting per conversation, attention blocked across them;
// the assistant-only masks carry over token by token).
//
//   std::vector<TrainingSequence> batch = {{.ids = {5, 6, 7, 8}, .loss_mask = {0, 0, 1, 1}}};
//   CARAVAN_ASSIGN_OR_RETURN(SequenceBatch packed, pack_training_sequences(batch, pad_id));
//   // packed.targets = [[6, 7, 8]], packed.loss_mask = [[0, 1, 1]]
#pragma once

#include <cstdint>
#include <vector>

#include "core/status.h"
#include "core/transformer_config.h"
#include "learner/sequence_batch.h"

namespace caravan::learner {

// A copyable value.
struct TrainingSequence {
  std::vector<int32_t> ids;
  // Parallel to ids: 1 = ids[i] is trained (predicted from ids[0..i-1]), 0 = context. The first
  // token is predicted from nothing, so its mask is ignored.
  std::vector<uint8_t> loss_mask;

  // Tokens with mask 1 after the first.
  int64_t trained_tokens() const;
};

// Checks one sequence against a model: ids and mask of equal, non-zero length; every id in
// [0, config.vocab_size); no longer than config.max_position_embeddings; at least one trained
// token after the first. Returns kInvalidArgument saying which rule failed. Thread-safe.
Status validate_training_sequence(const TrainingSequence& sequence, const core::TransformerConfig& config);

// The sequences laid out by lay_out_sequences (learner/sequence_batch.h): the cell predicting
// token i of a sequence has loss_mask = its loss_mask[i] (i >= 1), old_logprobs 0,
// completion_tokens = the trained tokens. kInvalidArgument for an empty batch or a sequence whose
// ids and mask differ in length or are empty, naming its index. Thread-safe.
Result<SequenceBatch> pack_training_sequences(const std::vector<TrainingSequence>& sequences, int32_t pad_id,
                                              RowLayout layout = RowLayout::kPadded);

} // namespace caravan::learner
