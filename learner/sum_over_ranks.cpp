#include "learner/sum_over_ranks.h"

#include <utility>

namespace caravan::learner {

Result<std::vector<double>> sum_values(std::vector<double> local, const SumOverRanks& sum_over_ranks) {
  if (!sum_over_ranks) return local;
  const size_t count = local.size();
  CARAVAN_ASSIGN_OR_RETURN(std::vector<double> sums, sum_over_ranks(std::move(local)));
  CARAVAN_CHECK(sums.size() == count, "the sum over ranks returned ", sums.size(), " values for ", count);
  return sums;
}

Result<std::vector<at::Tensor>> sum_scalars(const std::vector<at::Tensor>& local, const SumOverRanks& sum_over_ranks) {
  if (!sum_over_ranks) return local;
  std::vector<double> values;
  values.reserve(local.size());
  for (const at::Tensor& scalar : local) {
    CARAVAN_CHECK(scalar.dim() == 0, "sum_scalars takes 0-dim tensors, got ", scalar.sizes());
    values.push_back(scalar.item<double>());
  }
  CARAVAN_ASSIGN_OR_RETURN(const std::vector<double> sums, sum_values(std::move(values), sum_over_ranks));
  std::vector<at::Tensor> whole;
  whole.reserve(local.size());
  for (size_t i = 0; i < local.size(); ++i) whole.push_back(at::scalar_tensor(sums[i], local[i].options()));
  return whole;
}

} // namespace caravan::learner
