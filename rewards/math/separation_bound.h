// File: rewards/math/separation_bound.h
// A constructive root-separation bound for algebraic Reals (rewards/math/real_value.h): if
// the value is not 0, its magnitude is at least 2^-bits. With it, an interval enclosure of
// width below 2^-bits that contains 0 proves the value IS 0, so interval evaluation decides
// equality of algebraic numbers (2*sqrt(2) = sqrt(8)) instead of only inequality.
//
// The bound is BFMSS (Burnikel, Funke, Mehlhorn, Schirra, Schmitt: "A separation bound for
// real algebraic expressions", ESA 2001 / Algorithmica 2009): for an expression E over
// integers with +, -, *, /, and k-th roots, with the recursively defined upper bounds u(E) and
// l(E) and D(E) = the product of the indices of the distinct root nodes of E,
//   E != 0  implies  |E| >= (u(E)^(D(E)-1) * l(E))^-1.
// A rational leaf p/q is the division p/q (u = |p|, l = q).
//
//   std::optional<long> bits = separation_bound_bits(arena, difference.node, /*max_bits=*/1 << 16);
//   // value == 0 if an enclosure lies strictly inside (-2^-*bits, 2^-*bits)
#pragma once

#include <cstdint>
#include <optional>

#include "rewards/math/real_value.h"

namespace caravan::rewards::math {

// Bits B of the bound for node `id` (|value| >= 2^-B unless value == 0), or nullopt when the
// node depends on pi or e (no algebraic bound exists) or when B would exceed `max_bits`.
// Thread-compatible (reads the arena only).
std::optional<long> separation_bound_bits(const RealArena& arena, std::int32_t id, long max_bits);

} // namespace caravan::rewards::math
