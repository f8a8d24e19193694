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

Status check_structure(const TokenSequence& s) {
  if (s.ids.empty()) return Status::invalid_argument("no tokens");
  if (s.trained.size() != s.ids.size()) {
    return Status::invalid_argument(str_cat(s.ids.size(), " ids but ", s.trained.size(), " loss mask entries"));
  }
  if (!s.old_logprobs.empty() && s.old_logprobs.size() != s.ids.size()) {
    return Status::invalid_argument(str_cat(s.ids.size(), " ids but ", s.old_logprobs.size(), " old logprobs"));
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

// Sequence b's target t sits at grid cell start_b + t: [B, T] with `past_end` beyond each end.
at::Tensor cells_of(const std::vector<int64_t>& starts, const std::vector<int64_t>& lengths, int64_t past_end) {
  const auto count = static_cast<int64_t>(starts.size());
  const int64_t targets = *std::max_element(lengths.begin(), lengths.end()) - 1;
  at::Tensor cells = at::full({count, targets}, past_end, at::kLong);
  auto view = cells.accessor<int64_t, 2>();
  for (int64_t b = 0; b < count; ++b) {
    for (int64_t t = 0; t + 1 < lengths[static_cast<size_t>(b)]; ++t) view[b][t] = starts[static_cast<size_t>(b)] + t;
  }
  return cells;
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

at::Tensor per_sequence(const SequenceBatch& batch, const at::Tensor& grid) {
  if (!batch.sequence_cells.defined()) return grid;
  // One extra cell holding 0 for the positions past a sequence's end.
  const at::Tensor flat = at::cat({grid.reshape({-1}), at::zeros({1}, grid.options())});
  const at::Tensor& cells = batch.sequence_cells;
  return flat.index_select(0, cells.reshape({-1}).to(grid.device())).view(cells.sizes());
}

Result<SequenceBatch> lay_out_sequences(std::span<const TokenSequence> sequences, int32_t pad_id, RowLayout layout) {
  if (sequences.empty()) return Status::invalid_argument("lay_out_sequences: empty batch");
  std::vector<int64_t> lengths;
  lengths.reserve(sequences.size());
  for (size_t i = 0; i < sequences.size(); ++i) {
    CARAVAN_RETURN_IF_ERROR_CTX(check_structure(sequences[i]), str_cat("sequence ", i));
    lengths.push_back(static_cast<int64_t>(sequences[i].ids.size()));
  }
  const int64_t longest = *std::max_element(lengths.begin(), lengths.end());
  int64_t total = 0;
  for (const int64_t length : lengths) total += length;

  SequenceBatch out;
  out.sequences = static_cast<int64_t>(sequences.size());
  // Where each sequence starts: (row, column).
  std::vector<int64_t> rows;
  std::vector<int64_t> columns;
  int64_t row_count = 0;
  int64_t row_length = 0;
  switch (layout) {
    case RowLayout::kPadded:
      row_count = out.sequences;
      row_length = longest;
      for (int64_t b = 0; b < out.sequences; ++b) {
        rows.push_back(b);
        columns.push_back(0);
      }
      out.segments.assign(sequences.size(), longest);
      break;
    case RowLayout::kPacked: {
      row_count = 1;
      row_length = total;
      int64_t column = 0;
      for (const int64_t length : lengths) {
        rows.push_back(0);
        columns.push_back(column);
        column += length;
      }
      out.segments = lengths;
      break;
    }
  }

  out.tokens = at::full({row_count, row_length}, pad_id, at::kLong);
  out.loss_mask = at::zeros({row_count, row_length - 1}, at::kFloat);
  out.old_logprobs = at::zeros({row_count, row_length - 1}, at::kFloat);
  auto tokens = out.tokens.accessor<int64_t, 2>();
  auto loss_mask = out.loss_mask.accessor<float, 2>();
  auto old_logprobs = out.old_logprobs.accessor<float, 2>();
  for (size_t b = 0; b < sequences.size(); ++b) {
    const TokenSequence& s = sequences[b];
    const int64_t row = rows[b];
    for (size_t i = 0; i < s.ids.size(); ++i) {
      const int64_t column = columns[b] + static_cast<int64_t>(i);
      tokens[row][column] = s.ids[i];
      // Token i is the target of the cell before it; the first token is predicted from nothing.
      if (i == 0 || s.trained[i] != 1) continue;
      loss_mask[row][column - 1] = 1.0f;
      if (!s.old_logprobs.empty()) old_logprobs[row][column - 1] = s.old_logprobs[i];
      ++out.completion_tokens;
    }
  }
  out.targets = out.tokens.slice(/*dim=*/1, /*start=*/1).contiguous();
  if (layout == RowLayout::kPacked) {
    // One row: a sequence's column is its first target's flat cell.
    out.sequence_cells = cells_of(columns, lengths, /*past_end=*/row_length - 1);
  }
  return out;
}

Result<SequenceBatch> pack_sequences(const std::vector<SequenceSpec>& sequences, int32_t pad_id, RowLayout layout) {
  if (sequences.empty()) return Status::invalid_argument("pack_sequences: empty batch");
  // Owned copies in the common form: prompt then completion; the completion trained.
  std::vector<std::vector<int32_t>> ids(sequences.size());
  std::vector<std::vector<uint8_t>> trained(sequences.size());
  std::vector<std::vector<float>> old_logprobs(sequences.size());
  std::vector<TokenSequence> views(sequences.size());
  for (size_t i = 0; i < sequences.size(); ++i) {
    const SequenceSpec& s = sequences[i];
    CARAVAN_RETURN_IF_ERROR_CTX(check_structure(s), str_cat("sequence ", i));
    ids[i].assign(s.prompt.begin(), s.prompt.end());
    ids[i].insert(ids[i].end(), s.completion.begin(), s.completion.end());
    trained[i].assign(s.prompt.size(), 0);
    trained[i].resize(ids[i].size(), 1);
    if (!s.completion_logprobs.empty()) {
      old_logprobs[i].assign(s.prompt.size(), 0.0f);
      old_logprobs[i].insert(old_logprobs[i].end(), s.completion_logprobs.begin(), s.completion_logprobs.end());
    }
    views[i] = TokenSequence{.ids = ids[i], .trained = trained[i], .old_logprobs = old_logprobs[i]};
  }
  return lay_out_sequences(views, pad_id, layout);
}

} // namespace caravan::learner
