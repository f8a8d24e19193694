// File: actors/rollout/device_memory.h
// How much memory a device has free for the engine's KV cache when it starts (kv_cache_fraction
// of it): host memory for a CPU engine, the GPU's own memory for a CUDA one.
//
//   CARAVAN_ASSIGN_OR_RETURN(int64_t free_bytes, available_memory_bytes(model_device));
//   CARAVAN_ASSIGN_OR_RETURN(int64_t blocks, kv_cache_blocks(options, config, dtype, free_bytes));
#pragma once

#include <cstdint>

#include <c10/core/Device.h>

#include "core/status.h"

namespace caravan::rollout {

// Bytes free for a new allocation on `device`:
// - CPU: /proc/meminfo's MemAvailable; kUnavailable naming the file when it cannot be read.
// - CUDA (builds with CARAVAN_WITH_CUDA): the device's free memory as the driver reports it
//   (cudaMemGetInfo) after LibTorch's caching allocator has returned the blocks it holds unused
//   (emptyCache), so memory cached from earlier work counts as free; kUnavailable with CUDA's
//   error text when the query fails. In a build without CARAVAN_WITH_CUDA: kFailedPrecondition.
// Other device types: kInvalidArgument. Thread-safe.
Result<int64_t> available_memory_bytes(c10::Device device);

} // namespace caravan::rollout
