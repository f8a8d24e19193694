#include "learner/zero_partition.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <vector>

namespace caravan::learner {
namespace {

std::vector<int64_t> loads(const std::vector<int64_t>& numels, const std::vector<int>& owner, int ranks) {
  std::vector<int64_t> load(static_cast<size_t>(ranks), 0);
  for (size_t i = 0; i < numels.size(); ++i) load[static_cast<size_t>(owner[i])] += numels[i];
  return load;
}

TEST(PartitionByNumel, LargestFirstToTheLightestRank) {
  // 4096 -> rank 0; the second 4096 -> rank 1; 64 (index 1) -> rank 0 (tie, lower rank); 64 -> rank 1.
  EXPECT_EQ(partition_by_numel({4096, 64, 4096, 64}, 2), (std::vector<int>{0, 0, 1, 1}));
  // One rank owns everything; no parameters own nothing.
  EXPECT_EQ(partition_by_numel({5, 7}, 1), (std::vector<int>{0, 0}));
  EXPECT_TRUE(partition_by_numel({}, 3).empty());
}

TEST(PartitionByNumel, RanksDifferByAtMostTheLargestParameter) {
  // The shapes of a small Llama: embeddings, per-layer projections and norms.
  std::vector<int64_t> numels = {259 * 32};
  for (int layer = 0; layer < 6; ++layer) {
    for (int64_t n : {32 * 32, 32 * 16, 32 * 16, 32 * 32, 64 * 32, 64 * 32, 32 * 64, 32, 32}) numels.push_back(n);
  }
  numels.push_back(32);
  const int64_t largest = *std::max_element(numels.begin(), numels.end());
  for (int ranks : {2, 3, 4, 7}) {
    SCOPED_TRACE(ranks);
    const std::vector<int> owner = partition_by_numel(numels, ranks);
    ASSERT_EQ(owner.size(), numels.size());
    const std::vector<int64_t> load = loads(numels, owner, ranks);
    const auto [lightest, heaviest] = std::minmax_element(load.begin(), load.end());
    EXPECT_LE(*heaviest - *lightest, largest);
    EXPECT_GT(*lightest, 0);
  }
}

} // namespace
} // namespace caravan::learner
