#include "learner/sequence_batch.h"

#include <algorithm>

namespace caravan::learner {
namespace {

Status check_structure(const SequenceSpec& s) {
  if (s.prompt.empty()) return Status::invalid_argument("empty prompt");
  if (!s.completion_logprobs.empty() && s.completion_logprobs.size() != s.completion.size()) {
    return Status::invalid_argument(
        str_cat(s.completion.size(), " completion tokens but ", s.completion_logprobs.size(), " logprobs"));
  }
  return {};
}

Status check_token_ids(std::span<const int32_t> tokens, int64_t vocab_size, const char* what) {
  for (size_t i = 0; i < tokens.size(); ++i) {
    if (tokens[i] < 0 || tokens[i] >= vocab_size) {
      return Status::invalid_argument(
          str_cat(what, " token ", i, " has id ", tokens[i], ", outside [0, ", vocab_size, ")"));
    }
  }
  return {};
}

} // namespace

Status validate_sequence(const SequenceSpec& sequence, const core::TransformerConfig& config) {
  CARAVAN_RETURN_IF_ERROR(check_structure(sequence));
  CARAVAN_RETURN_IF_ERROR(check_token_ids(sequence.prompt, config.vocab_size, "prompt"));
  CARAVAN_RETURN_IF_ERROR(check_token_ids(sequence.completion, config.vocab_size, "completion"));
  const size_t length = sequence.prompt.size() + sequence.completion.size();
  if (static_cast<int64_t>(length) > config.max_position_embeddings) {
    return Status::invalid_argument(str_cat("prompt + completion is ", length,
                                            " tokens, more than max_position_embeddings ",
                                            config.max_position_embeddings));
  }
  return {};
}

Result<SequenceBatch> pack_sequences(const std::vector<SequenceSpec>& sequences, int32_t pad_id) {
  if (sequences.empty()) return Status::invalid_argument("pack_sequences: empty batch");
  size_t max_length = 0;
  for (size_t i = 0; i < sequences.size(); ++i) {
    CARAVAN_RETURN_IF_ERROR_CTX(check_structure(sequences[i]), str_cat("sequence ", i));
    max_length = std::max(max_length, sequences[i].prompt.size() + sequences[i].completion.size());
  }

  const auto batch = static_cast<int64_t>(sequences.size());
  const auto length = static_cast<int64_t>(max_length);
  SequenceBatch out;
  out.tokens = at::full({batch, length}, pad_id, at::kLong);
  out.key_mask = at::zeros({batch, length}, at::kBool);
  out.loss_mask = at::zeros({batch, length - 1}, at::kFloat);
  out.old_logprobs = at::zeros({batch, length - 1}, at::kFloat);
  auto tokens = out.tokens.accessor<int64_t, 2>();
  auto key_mask = out.key_mask.accessor<bool, 2>();
  auto loss_mask = out.loss_mask.accessor<float, 2>();
  auto old_logprobs = out.old_logprobs.accessor<float, 2>();
  for (int64_t b = 0; b < batch; ++b) {
    const SequenceSpec& s = sequences[static_cast<size_t>(b)];
    const auto prompt_length = static_cast<int64_t>(s.prompt.size());
    for (int64_t j = 0; j < prompt_length; ++j) {
      tokens[b][j] = s.prompt[static_cast<size_t>(j)];
      key_mask[b][j] = true;
    }
    for (size_t c = 0; c < s.completion.size(); ++c) {
      // Completion token c sits at position prompt_length + c and is target index one before.
      const int64_t position = prompt_length + static_cast<int64_t>(c);
      tokens[b][position] = s.completion[c];
      key_mask[b][position] = true;
      loss_mask[b][position - 1] = 1.0f;
      if (!s.completion_logprobs.empty()) old_logprobs[b][position - 1] = s.completion_logprobs[c];
    }
    out.completion_tokens += static_cast<int64_t>(s.completion.size());
  }
  out.positions = at::arange(length, at::kLong).unsqueeze(0).expand({batch, length}).contiguous();
  out.targets = out.tokens.slice(/*dim=*/1, /*start=*/1).contiguous();
  return out;
}

} // namespace caravan::learner
