// File: weights_sync/cuda_ipc_communicator.h
// The "cuda_ipc" Communicator (built with CARAVAN_WITH_CUDA), for a learner and rollout actors
// in different processes on the same GPU: rank 0 (the only root it supports) owns one device
// buffer, exported once through cudaIpcGetMemHandle (re-exported only when a broadcast needs a
// larger one, which every rank sees from the byte count); the other ranks map it once with
// cudaIpcOpenMemHandle and copy out of it on every broadcast. The store carries the handle and,
// per broadcast, "ready" from the root and "done/<rank>" from each receiver, all with the
// deadline: a receiver that never copies is named. The root deletes a broadcast's keys once every
// receiver copied.
//
//   CARAVAN_ASSIGN_OR_RETURN(auto comm, make_cuda_ipc_communicator(options));
//   CARAVAN_RETURN_IF_ERROR(comm->broadcast({device_ptr, bytes, BufferLocation::kDevice}, /*root=*/0));
#pragma once

#include <memory>

#include "core/status.h"
#include "weights_sync/communicator.h"

namespace caravan::wsync {

// Joins the group of `options` on GPU options.device (every rank on the same GPU). Errors as
// make_nccl_communicator; broadcast() from a root other than 0 is kInvalidArgument.
Result<std::unique_ptr<Communicator>> make_cuda_ipc_communicator(const CommunicatorOptions& options);

} // namespace caravan::wsync
