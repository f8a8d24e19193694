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

Result<SequenceBatch> pack_training_sequences(const std::vector<TrainingSequence>& sequences, int32_t pad_id) {
  if (sequences.empty()) return Status::invalid_argument("pack_training_sequences: empty batch");
  size_t max_length = 0;
  for (size_t i = 0; i < sequences.size(); ++i) {
    CARAVAN_RETURN_IF_ERROR_CTX(check_shape(sequences[i]), str_cat("sequence ", i));
    max_length = std::max(max_length, sequences[i].ids.size());
  }
  const auto rows = static_cast<int64_t>(sequences.size());
  const auto length = static_cast<int64_t>(max_length);
  SequenceBatch out;
  out.tokens = at::full({rows, length}, pad_id, at::kLong);
  out.key_mask = at::zeros({rows, length}, at::kBool);
  out.loss_mask = at::zeros({rows, length - 1}, at::kFloat);
  out.old_logprobs = at::zeros({rows, length - 1}, at::kFloat);
  auto tokens = out.tokens.accessor<int64_t, 2>();
  auto key_mask = out.key_mask.accessor<bool, 2>();
  auto loss_mask = out.loss_mask.accessor<float, 2>();
  for (int64_t b = 0; b < rows; ++b) {
    const TrainingSequence& sequence = sequences[static_cast<size_t>(b)];
    for (size_t i = 0; i < sequence.ids.size(); ++i) {
      tokens[b][static_cast<int64_t>(i)] = sequence.ids[i];
      key_mask[b][static_cast<int64_t>(i)] = true;
      // Token i is target i - 1 (predicted from the tokens before it).
      if (i > 0 && sequence.loss_mask[i] == 1) loss_mask[b][static_cast<int64_t>(i) - 1] = 1.0f;
    }
    out.completion_tokens += sequence.trained_tokens();
  }
  out.positions = at::arange(length, at::kLong).unsqueeze(0).expand({rows, length}).contiguous();
  out.targets = out.tokens.slice(/*dim=*/1, /*start=*/1).contiguous();
  return out;
}

} // namespace caravan::learner
