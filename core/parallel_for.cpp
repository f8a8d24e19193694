#include "core/parallel_for.h"

#include <algorithm>
#include <atomic>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

namespace caravan::core {

void parallel_for(size_t count, int threads, const std::function<void(size_t index)>& work) {
  std::atomic<size_t> next{0};
  std::mutex failure_mutex;
  std::exception_ptr failure;  // Guarded by failure_mutex.
  const auto drain = [&] {
    try {
      for (size_t i = next.fetch_add(1); i < count; i = next.fetch_add(1)) work(i);
    } catch (...) {
      next.store(count);
      const std::lock_guard<std::mutex> lock(failure_mutex);
      if (!failure) failure = std::current_exception();
    }
  };
  {
    std::vector<std::jthread> helpers;
    const size_t wanted = std::min<size_t>(static_cast<size_t>(std::max(threads, 1)), std::max<size_t>(count, 1));
    for (size_t t = 1; t < wanted; ++t) helpers.emplace_back(drain);
    drain();
  }  // joins the helpers
  if (failure) std::rethrow_exception(failure);
}

} // namespace caravan::core
