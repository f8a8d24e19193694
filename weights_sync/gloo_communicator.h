// File: weights_sync/gloo_communicator.h
// The "gloo" Communicator: c10d::ProcessGroupGloo over TCP, rendezvous through a scope of a
// RendezvousStore (served by rank 0). Runs on CPU tensors; this is the backend that tests and CPU-only runs use.
// No c10d type appears in this header: every c10d call and exception stays in the .cpp.
//
// Sample usage (normally through make_communicator("gloo", options)):
//   CARAVAN_ASSIGN_OR_RETURN(std::unique_ptr<Communicator> comm, make_gloo_communicator(options));
//   CARAVAN_RETURN_IF_ERROR(comm->barrier());
#pragma once

#include <memory>

#include "core/status.h"
#include "weights_sync/communicator.h"

namespace caravan::wsync {

// Joins the group described by `options`; blocks until all ranks have joined options.scope and
// every rank's connections are made (a barrier), so a rank may leave right after joining.
// The Gloo transport binds to the store's host when it is a loopback address (single machine),
// else to the address of this machine's hostname (falling back to loopback when that does not
// resolve). Errors: kInvalidArgument (see validate_options), kTimeout when the store or a peer
// does not answer within options.timeout, kCancelled on a stop request, kUnavailable for other
// transport failures.
Result<std::unique_ptr<Communicator>> make_gloo_communicator(const CommunicatorOptions& options);

} // namespace caravan::wsync
