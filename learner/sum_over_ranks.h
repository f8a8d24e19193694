// File: learner/sum_over_ranks.h
// How batch-wide statistics reach every data-parallel learner rank when each rank holds a part
// of the batch: a function that sums a vector of numbers over the ranks (DataParallel::sum
// behind sum_over_ranks_of(), learner/data_parallel.h). It is a plain std::function, so that the
// code computing the statistics (advantage whitening, loss normalisation counts, the value
// model's diagnostics) needs no communicator. Empty = one learner with the whole batch: the
// helpers below then pass the local values through unchanged, so a single learner's arithmetic
// is exactly what it is without them.
//
//   SumOverRanks sum = sum_over_ranks_of(data_parallel);     // empty when data_parallel is null
//   CARAVAN_ASSIGN_OR_RETURN(std::vector<at::Tensor> whole, sum_scalars({x.sum(), mask.sum()}, sum));
//   at::Tensor mean = whole[0] / whole[1];
//
// Every call is a collective: every rank makes the same calls with as many values, in the same
// order, and gets the same sums. Errors are the collective's (kTimeout, kUnavailable).
#pragma once

#include <functional>
#include <vector>

#include <ATen/ATen.h>

#include "core/status.h"

namespace caravan::learner {

// The elementwise sums of the values over the ranks; its errors are the collective's.
using SumOverRanks = std::function<Result<std::vector<double>>(std::vector<double>)>;

// `local` summed over the ranks, or `local` itself when `sum_over_ranks` is empty.
Result<std::vector<double>> sum_values(std::vector<double> local, const SumOverRanks& sum_over_ranks);

// The 0-dim tensors `local` summed over the ranks, each returned in its own dtype and device
// (they travel as doubles, which a float32 or float64 scalar survives exactly), or `local`
// itself when `sum_over_ranks` is empty.
Result<std::vector<at::Tensor>> sum_scalars(const std::vector<at::Tensor>& local, const SumOverRanks& sum_over_ranks);

} // namespace caravan::learner
