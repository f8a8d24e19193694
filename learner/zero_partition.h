// File: learner/zero_partition.h
// The ZeRO-1 partition of a model's parameters over the learner ranks: each parameter has one
// owner rank, which alone keeps its AdamW state and updates it. LibTorch-free.
//
//   std::vector<int> owner = learner::partition_by_numel({4096, 64, 4096, 64}, /*ranks=*/2);
//   // owner == {0, 0, 1, 1}: 4160 elements each
#pragma once

#include <cstdint>
#include <vector>

namespace caravan::learner {

// owner[i] in [0, ranks) for each parameter i of `numels` (element counts, >= 0; ranks >= 1,
// CARAVAN_CHECK). Greedy longest-first: parameters in decreasing size (ties by index) each go to
// the rank with the fewest elements so far (ties to the lower rank), so any two ranks' totals
// differ by at most the largest parameter. Deterministic: every rank computes the same owners.
std::vector<int> partition_by_numel(const std::vector<int64_t>& numels, int ranks);

} // namespace caravan::learner
