// File: core/seconds.h
// The configuration states durations in seconds (doubles: `heartbeat_interval_s = 0.5`); the
// code waits on std::chrono::milliseconds. One conversion, truncating to whole milliseconds.
//
//   const std::chrono::milliseconds timeout = core::seconds_to_ms(config.cluster.heartbeat_timeout_s);
#pragma once

#include <chrono>
#include <cstdint>

namespace caravan::core {

inline std::chrono::milliseconds seconds_to_ms(double seconds) {
  return std::chrono::milliseconds(static_cast<int64_t>(seconds * 1000));
}

} // namespace caravan::core
