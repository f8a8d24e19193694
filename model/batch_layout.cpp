#include "model/batch_layout.h"

#include <map>

#include "core/status.h"

namespace caravan::model {
namespace {

// [G, 1, T, S] bool: member m's query t may read key j iff j <= past_m + t.
at::Tensor group_allowed(const std::vector<BatchLayout::Sequence>& sequences, const std::vector<int64_t>& members,
                         int64_t steps, int64_t keys) {
  std::vector<int64_t> past;
  past.reserve(members.size());
  for (const int64_t m : members) past.push_back(sequences[static_cast<size_t>(m)].past);
  const at::Tensor past_t = at::tensor(past, at::kLong).view({-1, 1, 1, 1});
  const at::Tensor query = at::arange(steps, at::kLong).view({1, 1, steps, 1});
  const at::Tensor key = at::arange(keys, at::kLong).view({1, 1, 1, keys});
  return key <= past_t + query;
}

} // namespace

BatchLayout::BatchLayout(std::vector<Sequence> sequences, at::Device device) : sequences_(std::move(sequences)) {
  CARAVAN_CHECK(!sequences_.empty(), "BatchLayout: no sequences");
  std::vector<int64_t> positions;
  std::vector<int64_t> last_tokens;
  // Groups keyed by new-token count, members in ascending order.
  std::map<int64_t, std::vector<int64_t>> by_length;
  for (size_t i = 0; i < sequences_.size(); ++i) {
    const Sequence& sequence = sequences_[i];
    CARAVAN_CHECK(sequence.new_tokens >= 1 && sequence.past >= 0, "BatchLayout: sequence ", i, " has new_tokens ",
                  sequence.new_tokens, " and past ", sequence.past);
    offsets_.push_back(num_tokens_);
    for (int64_t t = 0; t < sequence.new_tokens; ++t) positions.push_back(sequence.past + t);
    num_tokens_ += sequence.new_tokens;
    last_tokens.push_back(num_tokens_ - 1);
    reads_memory_ = reads_memory_ || sequence.past > 0;
    by_length[sequence.new_tokens].push_back(static_cast<int64_t>(i));
  }
  positions_ = at::tensor(positions, at::kLong).to(device);
  last_tokens_ = at::tensor(last_tokens, at::kLong).to(device);
  for (auto& [steps, members] : by_length) {
    Group group;
    group.new_tokens = steps;
    for (const int64_t m : members) {
      group.keys = std::max(group.keys, sequences_[static_cast<size_t>(m)].past + steps);
    }
    // Consecutive members own one contiguous token range: no gather needed.
    bool contiguous = true;
    for (size_t k = 1; k < members.size(); ++k) contiguous = contiguous && members[k] == members[k - 1] + 1;
    group.first_token = offsets_[static_cast<size_t>(members.front())];
    if (!contiguous) {
      std::vector<int64_t> index;
      index.reserve(members.size() * static_cast<size_t>(steps));
      for (const int64_t m : members) {
        for (int64_t t = 0; t < steps; ++t) index.push_back(offsets_[static_cast<size_t>(m)] + t);
      }
      group.token_index = at::tensor(index, at::kLong).to(device);
    }
    group.allowed = group_allowed(sequences_, members, steps, group.keys).to(device);
    group.members = std::move(members);
    groups_.push_back(std::move(group));
  }
}

BatchLayout BatchLayout::packed(const std::vector<int64_t>& lengths, at::Device device) {
  std::vector<Sequence> sequences;
  sequences.reserve(lengths.size());
  for (size_t i = 0; i < lengths.size(); ++i) {
    sequences.push_back({.new_tokens = lengths[i], .past = 0, .memory_slot = static_cast<int64_t>(i)});
  }
  return BatchLayout(std::move(sequences), device);
}

} // namespace caravan::model
