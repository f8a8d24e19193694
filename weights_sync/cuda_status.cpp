// File: weights_sync/cuda_status.cpp
#include "weights_sync/cuda_status.h"

#include "core/str_cat.h"

namespace caravan::wsync {

Status cuda_status(cudaError_t error, const std::string& what) {
  if (error == cudaSuccess) return Status::ok_status();
  std::string text = str_cat(what, ": ", cudaGetErrorName(error), ": ", cudaGetErrorString(error));
  return error == cudaErrorMemoryAllocation ? Status::resource_exhausted(std::move(text))
                                            : Status::unavailable(std::move(text));
}

void CudaFree::operator()(void* pointer) const { (void)cudaFree(pointer); }

void CudaStreamDestroy::operator()(cudaStream_t stream) const { (void)cudaStreamDestroy(stream); }

Result<DeviceBuffer> DeviceBuffer::allocate(int64_t bytes) {
  DeviceBuffer buffer;
  CARAVAN_RETURN_IF_ERROR(buffer.reserve(bytes));
  return buffer;
}

Status DeviceBuffer::reserve(int64_t bytes) {
  if (bytes <= bytes_) return Status::ok_status();
  memory_.reset();
  bytes_ = 0;
  void* pointer = nullptr;
  CARAVAN_RETURN_IF_ERROR(cuda_status(cudaMalloc(&pointer, static_cast<size_t>(bytes)),
                                      str_cat("cudaMalloc of ", bytes, " bytes")));
  memory_.reset(pointer);
  bytes_ = bytes;
  return Status::ok_status();
}

Result<CudaStreamPtr> make_stream() {
  cudaStream_t stream = nullptr;
  CARAVAN_RETURN_IF_ERROR(cuda_status(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking), "cudaStreamCreate"));
  return CudaStreamPtr(stream);
}

} // namespace caravan::wsync
