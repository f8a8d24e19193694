// File: weights_sync/nccl_communicator.h
// The "nccl" Communicator (built with CARAVAN_WITH_CUDA): the raw NCCL API on a stream of its
// own. Rank 0 creates the ncclUniqueId and posts it in the group's scope of the rendezvous
// store; the others read it there. The communicator is non-blocking (ncclConfig.blocking = 0):
// every collective and the initialisation are polled against the deadline, and a missed
// deadline aborts the communicator (ncclCommAbort) instead of hanging until a watchdog fires.
// Host buffers are staged through a device buffer; device buffers are used in place.
//
//   CARAVAN_ASSIGN_OR_RETURN(auto comm, make_nccl_communicator(options));  // options.device = GPU
//   CARAVAN_RETURN_IF_ERROR(comm->broadcast({device_ptr, bytes, BufferLocation::kDevice}, 0));
#pragma once

#include <memory>

#include "core/status.h"
#include "weights_sync/communicator.h"

namespace caravan::wsync {

// Joins the group of `options` on GPU options.device. Errors: kInvalidArgument (validate_options),
// kTimeout when the unique id or the peers do not come within options.timeout, kCancelled on a
// stop request, kUnavailable for CUDA or NCCL failures (the message names the call).
Result<std::unique_ptr<Communicator>> make_nccl_communicator(const CommunicatorOptions& options);

} // namespace caravan::wsync
