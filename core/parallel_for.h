// File: core/parallel_for.h
// Runs independent work items on a few threads: the calling thread and threads - 1 others each
// take the next unclaimed index until none is left. For CPU-bound batches outside the actor
// runtime (scoring a file of samples in `caravan reward-test` and `caravan eval`).
//
//   std::vector<Result> results(items.size());
//   core::parallel_for(items.size(), /*threads=*/4, [&](size_t i) { results[i] = score(items[i]); });
#pragma once

#include <cstddef>
#include <functional>

namespace caravan::core {

// Calls work(i) exactly once for every i in [0, count), on min(threads, count) threads (at
// least the caller's), in no particular order, and returns when every call has returned. `work`
// must be safe to call concurrently for different indices. An exception escaping `work` stops
// further claims and is rethrown on the caller after every thread has joined (the first one
// caught).
void parallel_for(size_t count, int threads, const std::function<void(size_t index)>& work);

} // namespace caravan::core
