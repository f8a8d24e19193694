#include "model/batch_layout.h"

#include <algorithm>
#include <limits>
#include <map>
#include <utility>

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

// The key length (past + new tokens) of sequence m.
int64_t keys_of(const std::vector<BatchLayout::Sequence>& sequences, int64_t m) {
  const BatchLayout::Sequence& sequence = sequences[static_cast<size_t>(m)];
  return sequence.past + sequence.new_tokens;
}

// Splits `members` (all with `steps` new tokens) into the groups of least total cost, a group
// costing group_cost + members * steps * its longest key length: sorted by key length, the
// optimal cut points by dynamic programming over the sorted order (O(n^2), n = members). Each
// returned group lists its members ascending.
std::vector<std::vector<int64_t>> split_by_context(const std::vector<BatchLayout::Sequence>& sequences,
                                                   std::vector<int64_t> members, int64_t steps, int64_t group_cost) {
  std::stable_sort(members.begin(), members.end(),
                   [&](int64_t a, int64_t b) { return keys_of(sequences, a) < keys_of(sequences, b); });
  const size_t n = members.size();
  if (keys_of(sequences, members.front()) == keys_of(sequences, members.back())) {
    std::sort(members.begin(), members.end());
    return {std::move(members)};
  }
  // best[j]: least cost of the first j sorted members; cut[j]: where its last group starts.
  std::vector<int64_t> best(n + 1, std::numeric_limits<int64_t>::max());
  std::vector<size_t> cut(n + 1, 0);
  best[0] = 0;
  for (size_t j = 1; j <= n; ++j) {
    const int64_t longest = keys_of(sequences, members[j - 1]);
    for (size_t i = 0; i < j; ++i) {
      const int64_t cost = best[i] + group_cost + static_cast<int64_t>(j - i) * steps * longest;
      if (cost < best[j]) {
        best[j] = cost;
        cut[j] = i;
      }
    }
  }
  std::vector<std::vector<int64_t>> groups;
  for (size_t j = n; j > 0; j = cut[j]) {
    std::vector<int64_t> group(members.begin() + static_cast<std::ptrdiff_t>(cut[j]),
                               members.begin() + static_cast<std::ptrdiff_t>(j));
    std::sort(group.begin(), group.end());
    groups.push_back(std::move(group));
  }
  std::reverse(groups.begin(), groups.end());
  return groups;
}

} // namespace

BatchLayout::BatchLayout(std::vector<Sequence> sequences, at::Device device, ContextGrouping grouping)
    : sequences_(std::move(sequences)) {
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
  std::vector<std::pair<int64_t, std::vector<int64_t>>> split;
  for (auto& [steps, members] : by_length) {
    switch (grouping) {
      case ContextGrouping::kLongest: split.emplace_back(steps, std::move(members)); break;
      case ContextGrouping::kByContext:
        for (std::vector<int64_t>& group : split_by_context(sequences_, std::move(members), steps, kGroupCostKeys)) {
          split.emplace_back(steps, std::move(group));
        }
        break;
    }
  }
  for (auto& [steps, members] : split) {
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
