#include "learner/training_sequence.h"

#include <algorithm>

namespace caravan::learner {
namespace {

Status check_shape(const TrainingSequence& sequence) {
  if (sequence.ids.empty()) return Status::invalid_argument("no tokens");
  if (sequence.ids.size() != sequence.loss_mask.size()) {
    return Status::invalid_argument(
        str_cat(sequence.ids.size(), " ids but ", sequence.loss_mask.size(), " loss mask entries"));
  }
  return {};
}

} // namespace

int64_t TrainingSequence::trained_tokens() const {
  if (loss_mask.size() < 2) return 0;
  return std::count(loss_mask.begin() + 1, loss_mask.end(), uint8_t{1});
}

Status validate_training_sequence(const TrainingSequence& sequence, const core::TransformerConfig& config) {
  CARAVAN_RETURN_IF_ERROR(check_shape(sequence));
  for (size_t i = 0; i < sequence.ids.size(); ++i) {
    if (sequence.ids[i] < 0 || sequence.ids[i] >= config.vocab_size) {
      return Status::invalid_argument(
          str_cat("token ", i, " has id ", sequence.ids[i], ", outside [0, ", config.vocab_size, ")"));
    }
  }
  if (static_cast<int64_t>(sequence.ids.size()) > config.max_position_embeddings) {
    return Status::invalid_argument(str_cat(sequence.ids.size(), " tokens, more than max_position_embeddings ",
                                            config.max_position_embeddings));
  }
  if (sequence.trained_tokens() == 0) return Status::invalid_argument("no trained token after the first");
  return {};
}

Result<SequenceBatch> pack_training_sequences(const std::vector<TrainingSequence>& sequences, int32_t pad_id,
                                              RowLayout layout) {
  if (sequences.empty()) return Status::invalid_argument("pack_training_sequences: empty batch");
  std::vector<TokenSequence> views;
  views.reserve(sequences.size());
  for (const TrainingSequence& sequence : sequences) views.push_back(TokenSequence{.ids = sequence.ids, .trained = sequence.loss_mask});
  return lay_out_sequences(views, pad_id, layout);
}

} // namespace caravan::learner
