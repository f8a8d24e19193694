#include "core/held_out_split.h"

#include <algorithm>
#include <numeric>
#include <tuple>

#include "core/hash.h"

namespace caravan::core {

std::vector<bool> select_held_out(std::span<const uint64_t> ids, int64_t count, uint64_t seed) {
  std::vector<size_t> ranked(ids.size());
  std::iota(ranked.begin(), ranked.end(), size_t{0});
  const uint64_t salt = splitmix64(seed);
  std::sort(ranked.begin(), ranked.end(), [&](size_t a, size_t b) {
    return std::make_tuple(splitmix64(ids[a] ^ salt), ids[a], a) < std::make_tuple(splitmix64(ids[b] ^ salt), ids[b], b);
  });
  std::vector<bool> held_out(ids.size(), false);
  int64_t held = 0;
  for (size_t r = 0; r < ranked.size(); ++r) {
    const bool same_as_previous = r > 0 && ids[ranked[r]] == ids[ranked[r - 1]];
    if (held >= count && !same_as_previous) break;
    held_out[ranked[r]] = true;
    ++held;
  }
  return held_out;
}

std::vector<bool> select_held_out_fraction(std::span<const uint64_t> ids, double fraction, uint64_t seed) {
  const uint64_t salt = splitmix64(seed);
  // 2^64 * fraction as a threshold; a hash strictly below it is held out.
  const long double threshold = static_cast<long double>(fraction) * 18446744073709551616.0L;
  std::vector<bool> held_out(ids.size(), false);
  for (size_t i = 0; i < ids.size(); ++i) {
    held_out[i] = static_cast<long double>(splitmix64(ids[i] ^ salt)) < threshold;
  }
  return held_out;
}

} // namespace caravan::core
