#include "actors/rollout/device_memory.h"

#include <fstream>
#include <sstream>
#include <string>

#ifdef CARAVAN_WITH_CUDA
#include <c10/cuda/CUDACachingAllocator.h>
#include <c10/cuda/CUDAFunctions.h>
#include <c10/cuda/CUDAGuard.h>
#include <cuda_runtime_api.h>
#endif

namespace caravan::rollout {
namespace {

Result<int64_t> host_available_bytes() {
  std::ifstream meminfo("/proc/meminfo");
  std::string line;
  while (std::getline(meminfo, line)) {
    std::istringstream fields(line);
    std::string key;
    int64_t kib = 0;
    if (fields >> key >> kib && key == "MemAvailable:") return kib * 1024;
  }
  return Status::unavailable("/proc/meminfo: cannot read MemAvailable (set kv_cache_bytes instead of kv_cache_fraction)");
}

Result<int64_t> cuda_available_bytes(c10::Device device) {
#ifdef CARAVAN_WITH_CUDA
  const c10::DeviceIndex index = device.has_index() ? device.index() : c10::cuda::current_device();
  const c10::cuda::CUDAGuard on_device(index);
  c10::cuda::CUDACachingAllocator::emptyCache();
  size_t free_bytes = 0;
  size_t total_bytes = 0;
  if (const cudaError_t error = cudaMemGetInfo(&free_bytes, &total_bytes); error != cudaSuccess) {
    return Status::unavailable(str_cat("cudaMemGetInfo on cuda:", static_cast<int>(index), ": ",
                                       cudaGetErrorString(error), " (set kv_cache_bytes instead of kv_cache_fraction)"));
  }
  return static_cast<int64_t>(free_bytes);
#else
  return Status::failed_precondition(str_cat("kv_cache_fraction: the free memory of ", device.str(),
                                             " needs a build with -DCARAVAN_WITH_CUDA=ON (or set kv_cache_bytes)"));
#endif
}

} // namespace

Result<int64_t> available_memory_bytes(c10::Device device) {
  if (device.is_cpu()) return host_available_bytes();
  if (device.is_cuda()) return cuda_available_bytes(device);
  return Status::invalid_argument(str_cat("kv_cache_fraction: no free-memory query for device ", device.str(),
                                          " (set kv_cache_bytes)"));
}

} // namespace caravan::rollout
