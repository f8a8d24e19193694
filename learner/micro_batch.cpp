#include "learner/micro_batch.h"

#include <algorithm>

#include "core/status.h"

namespace caravan::learner {

at::Tensor rows_of(const at::Tensor& whole, SequenceRange range, int64_t columns) {
  return whole.slice(/*dim=*/0, range.begin, range.end).slice(/*dim=*/1, 0, columns);
}

RowLayout row_layout(const MicroBatchOptions& options) {
  return options.pack_sequences ? RowLayout::kPacked : RowLayout::kPadded;
}

int64_t forward_tokens(std::span<const int64_t> lengths, RowLayout layout) {
  if (lengths.empty()) return 0;
  switch (layout) {
    case RowLayout::kPadded:
      return static_cast<int64_t>(lengths.size()) * *std::max_element(lengths.begin(), lengths.end());
    case RowLayout::kPacked: {
      int64_t total = 0;
      for (const int64_t length : lengths) total += length;
      return total;
    }
  }
  CARAVAN_CHECK(false, "unknown row layout ", static_cast<int>(layout));
  return 0;
}

std::vector<SequenceRange> split_by_token_budget(std::span<const int64_t> lengths, SequenceRange range,
                                                 const MicroBatchOptions& options) {
  CARAVAN_CHECK(range.begin >= 0 && range.begin <= range.end && range.end <= static_cast<int64_t>(lengths.size()),
                "sequence range [", range.begin, ", ", range.end, ") outside a batch of ", lengths.size());
  CARAVAN_CHECK(options.micro_batch_tokens >= 0, "micro_batch_tokens must be >= 0, got ", options.micro_batch_tokens);
  std::vector<SequenceRange> parts;
  if (range.size() == 0) return parts;
  if (options.micro_batch_tokens == 0) return {range};
  const RowLayout layout = row_layout(options);
  SequenceRange current{.begin = range.begin, .end = range.begin};
  for (int64_t i = range.begin; i < range.end; ++i) {
    const std::span<const int64_t> grown = lengths.subspan(static_cast<size_t>(current.begin),
                                                           static_cast<size_t>(i + 1 - current.begin));
    if (current.size() > 0 && forward_tokens(grown, layout) > options.micro_batch_tokens) {
      parts.push_back(current);
      current = {.begin = i, .end = i};
    }
    current.end = i + 1;
  }
  parts.push_back(current);
  return parts;
}

std::vector<SequenceRange> split_evenly(SequenceRange range, int64_t parts, EmptyParts empty) {
  CARAVAN_CHECK(parts >= 1, "parts must be >= 1, got ", parts);
  int64_t count = parts;
  switch (empty) {
    case EmptyParts::kDrop:
      count = std::min(parts, range.size());
      break;
    case EmptyParts::kKeep:
      break;
  }
  std::vector<SequenceRange> out;
  int64_t begin = range.begin;
  for (int64_t p = 0; p < count; ++p) {
    const int64_t size = range.size() / count + (p < range.size() % count ? 1 : 0);
    out.push_back({.begin = begin, .end = begin + size});
    begin += size;
  }
  return out;
}

std::vector<MiniBatch> plan_mini_batches(std::span<const int64_t> lengths, const RlBatchingOptions& options,
                                         EmptyParts empty) {
  std::vector<MiniBatch> plan;
  const SequenceRange all{.begin = 0, .end = static_cast<int64_t>(lengths.size())};
  for (const SequenceRange& part : split_evenly(all, options.mini_batches, empty)) {
    plan.push_back({.sequences = part, .micro_batches = split_by_token_budget(lengths, part, options.micro)});
  }
  return plan;
}

} // namespace caravan::learner
