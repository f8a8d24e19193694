#include "learner/zero_partition.h"

#include <algorithm>
#include <numeric>

#include "core/status.h"

namespace caravan::learner {

std::vector<int> partition_by_numel(const std::vector<int64_t>& numels, int ranks) {
  CARAVAN_CHECK(ranks >= 1, "partition_by_numel: ranks must be >= 1, got ", ranks);
  std::vector<size_t> order(numels.size());
  std::iota(order.begin(), order.end(), size_t{0});
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return numels[a] > numels[b]; });
  std::vector<int64_t> load(static_cast<size_t>(ranks), 0);
  std::vector<int> owner(numels.size(), 0);
  for (const size_t i : order) {
    CARAVAN_CHECK(numels[i] >= 0, "partition_by_numel: parameter ", i, " has ", numels[i], " elements");
    const auto lightest = static_cast<size_t>(std::min_element(load.begin(), load.end()) - load.begin());
    owner[i] = static_cast<int>(lightest);
    load[lightest] += numels[i];
  }
  return owner;
}

} // namespace caravan::learner
