// File: weights_sync/cuda_status.h
// CUDA runtime and NCCL results as Status, and the RAII handles of the GPU backends (built only
// with CARAVAN_WITH_CUDA). Raw device pointers only: nothing here needs a CUDA LibTorch.
//
//   CARAVAN_RETURN_IF_ERROR(cuda_status(cudaSetDevice(device), "cudaSetDevice"));
//   CARAVAN_ASSIGN_OR_RETURN(DeviceBuffer buffer, DeviceBuffer::allocate(1 << 20));
#pragma once

#include <cuda_runtime_api.h>

#include <cstdint>
#include <memory>
#include <string>

#include "core/status.h"

namespace caravan::wsync {

// ok for cudaSuccess, else kUnavailable "<what>: <cuda error name>: <description>".
Status cuda_status(cudaError_t error, const std::string& what);

// Frees with cudaFree.
struct CudaFree {
  void operator()(void* pointer) const;
};
struct CudaStreamDestroy {
  void operator()(cudaStream_t stream) const;
};
using CudaStreamPtr = std::unique_ptr<std::remove_pointer_t<cudaStream_t>, CudaStreamDestroy>;

// A cudaMalloc'ed run of bytes on the current device. Movable, not copyable.
class DeviceBuffer {
 public:
  DeviceBuffer() = default;
  // kResourceExhausted / kUnavailable from cudaMalloc, naming the size.
  static Result<DeviceBuffer> allocate(int64_t bytes);
  void* data() const { return memory_.get(); }
  int64_t bytes() const { return bytes_; }
  // Grows (reallocates, contents lost) to at least `bytes`.
  Status reserve(int64_t bytes);

 private:
  std::unique_ptr<void, CudaFree> memory_;
  int64_t bytes_ = 0;
};

// A non-blocking stream on the current device.
Result<CudaStreamPtr> make_stream();

} // namespace caravan::wsync
