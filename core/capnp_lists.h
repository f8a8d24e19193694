// File: core/capnp_lists.h
// Copies between Cap'n Proto primitive lists and std::vector (Cap'n Proto 0.9.2's list
// iterators are not standard iterators, so std::vector::assign cannot take them).
//
//   std::vector<int32_t> tokens = to_vector(sample.getTokens());
//   copy_into(sample.initLogprobs(logprobs.size()), logprobs);
#pragma once

#include <type_traits>
#include <vector>

#include "core/status.h"

namespace caravan::core {

template <class ListReader>
auto to_vector(const ListReader& list) {
  std::vector<std::decay_t<decltype(list[0])>> out;
  out.reserve(list.size());
  for (auto value : list) out.push_back(value);
  return out;
}

// `list` must have been initialised with values.size() elements.
template <class ListBuilder, class T>
void copy_into(ListBuilder list, const std::vector<T>& values) {
  CARAVAN_CHECK(list.size() == values.size(), "list of ", list.size(), " for ", values.size(), " values");
  for (unsigned i = 0; i < values.size(); ++i) list.set(i, values[i]);
}

} // namespace caravan::core
