// File: core/held_out_split.h
// Chooses the held-out rows of a dataset deterministically from the rows' content ids
// (core::FieldHasher over their fields) and a seed: the same rows are held out in every run,
// wherever they sit in the file, and identical rows always land on the same side.
//
//   std::vector<bool> held = core::select_held_out(ids, /*count=*/500, seed);
//   std::vector<bool> held = core::select_held_out_fraction(ids, /*fraction=*/0.1, seed);
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace caravan::core {

// Ranks the rows by splitmix64(id ^ splitmix64(seed)) and holds out the first `count` (>= 0),
// plus any further rows identical to the last one taken. Result: one flag per id, true = held
// out. Thread-safe.
std::vector<bool> select_held_out(std::span<const uint64_t> ids, int64_t count, uint64_t seed);

// Holds out each row whose seeded hash falls in the lowest `fraction` (in [0, 1]) of the 64-bit
// range, independently of the other rows: about fraction * ids.size() rows. Thread-safe.
std::vector<bool> select_held_out_fraction(std::span<const uint64_t> ids, double fraction, uint64_t seed);

} // namespace caravan::core
