// File: weights_sync/communicator.cpp
#include "weights_sync/communicator.h"

#include "core/str_cat.h"
#include "weights_sync/gloo_communicator.h"
#ifdef CARAVAN_WITH_CUDA
#include <cuda_runtime_api.h>

#include "weights_sync/cuda_ipc_communicator.h"
#include "weights_sync/nccl_communicator.h"
#endif

namespace caravan::wsync {

Status validate_options(const CommunicatorOptions& options) {
  if (options.world_size < 1) {
    return Status::invalid_argument(str_cat("CommunicatorOptions.world_size: expected >= 1, got ", options.world_size));
  }
  if (options.rank < 0 || options.rank >= options.world_size) {
    return Status::invalid_argument(str_cat("CommunicatorOptions.rank: expected 0 <= rank < world_size=",
                                            options.world_size, ", got ", options.rank));
  }
  if (options.store == nullptr) return Status::invalid_argument("CommunicatorOptions.store: must be set");
  if (options.timeout <= std::chrono::milliseconds::zero()) {
    return Status::invalid_argument(
        str_cat("CommunicatorOptions.timeout: expected > 0 ms, got ", options.timeout.count(), " ms"));
  }
  return Status::ok_status();
}

std::string resolve_backend(std::string_view configured) {
  if (configured != "auto") return std::string(configured);
#ifdef CARAVAN_WITH_CUDA
  int devices = 0;
  if (cudaGetDeviceCount(&devices) == cudaSuccess && devices > 0) return "nccl";
#endif
  return "gloo";
}

Result<std::unique_ptr<Communicator>> make_communicator(std::string_view backend,
                                                        const CommunicatorOptions& options) {
  if (backend == "gloo") return make_gloo_communicator(options);
#ifdef CARAVAN_WITH_CUDA
  if (backend == "nccl") return make_nccl_communicator(options);
  if (backend == "cuda_ipc") return make_cuda_ipc_communicator(options);
  constexpr std::string_view kKnown = "gloo, nccl, cuda_ipc";
#else
  constexpr std::string_view kKnown = "gloo (nccl and cuda_ipc need a build with -DCARAVAN_WITH_CUDA=ON)";
#endif
  return Status::invalid_argument(
      str_cat("unknown communicator backend \"", backend, "\"; known backends in this build: ", kKnown));
}

} // namespace caravan::wsync
