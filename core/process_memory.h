// File: core/process_memory.h
// The memory this process holds, for the load logs of the model loader and for benchmarks.
//
//   log::info("event=model_loaded resident_bytes=", core::resident_bytes().value_or(-1));
#pragma once

#include <cstdint>
#include <optional>

namespace caravan::core {

// Resident set size of this process in bytes (/proc/self/statm); nullopt where unavailable.
// Thread-safe.
std::optional<int64_t> resident_bytes();

} // namespace caravan::core
