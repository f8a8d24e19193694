// File: weights_sync/communicator.h
// Forms the groups whose Communicator (model/communicator.h) moves flat tensors between ranks:
// a weight-sync group (the learner's rank 0 is the source, rollout actors receive) or the
// learner's data-parallel ranks. c10d and every ProcessGroup type stay inside weights_sync/.
// Implementations: "gloo" (c10d over TCP, host memory), and with CARAVAN_WITH_CUDA "nccl" (raw
// NCCL; the ncclUniqueId travels through the store) and "cuda_ipc" (ranks on one GPU: the root
// exports a device buffer once, the others map it and copy out of it). The GPU backends take
// host buffers too and stage them through device memory; they use only the CUDA runtime API on
// raw pointers, so they build against a CPU-only LibTorch.
//
// Sample usage (every rank runs the same sequence of calls):
//   CommunicatorOptions options;
//   options.rank = rank;
//   options.world_size = 3;
//   options.store = store;       // RendezvousStore::serve on rank 0, ::connect elsewhere
//   options.scope = "gen-7/";    // fresh for every group formed over that store
//   CARAVAN_ASSIGN_OR_RETURN(std::unique_ptr<Communicator> comm, make_communicator("gloo", options));
//   std::vector<uint8_t> bucket(1024);  // root fills it; the others receive into it
//   CARAVAN_RETURN_IF_ERROR(comm->broadcast({bucket.data(), 1024, BufferLocation::kHost}, /*root=*/0));
#pragma once

#include <chrono>
#include <memory>
#include <stop_token>
#include <string>
#include <string_view>

#include "core/status.h"
#include "model/communicator.h"
#include "weights_sync/rendezvous_store.h"

namespace caravan::wsync {

struct CommunicatorOptions {
  // This process's rank in [0, world_size).
  int rank = 0;
  // Number of ranks in the group, >= 1.
  int world_size = 1;
  // Where the ranks meet; required. Shared with the communicator, which keeps it alive.
  std::shared_ptr<RendezvousStore> store;
  // Prefix of every key this group writes to `store`. Every group formed over one store needs
  // its own scope (a re-formed group must never read an older group's keys), e.g. "gen-7/".
  std::string scope;
  // Deadline for the rendezvous (all ranks joined) and for each collective, > 0.
  std::chrono::milliseconds timeout{std::chrono::seconds(120)};
  // Interrupts the rendezvous (checked at least once a second): kCancelled once requested.
  std::stop_token stop;
  // CUDA device ordinal of the GPU backends (nccl, cuda_ipc); ignored by gloo.
  int device = 0;
};

// ok, or kInvalidArgument naming the first bad field of `options` (rank outside
// [0, world_size), world_size < 1, no store, timeout <= 0).
[[nodiscard]] Status validate_options(const CommunicatorOptions& options);

// The group interface and its buffers live in model/communicator.h (the learner's data-parallel
// ranks use it too); these names keep weights_sync/'s code as it was.
using model::BufferLocation;
using model::ByteBuffer;
using model::Communicator;
using model::location_name;
using model::validate_all_reduce;
using model::validate_broadcast;

// The backend [weights_sync] backend names: "auto" picks "nccl" in a CARAVAN_WITH_CUDA build
// that sees a GPU, else "gloo" (the weights live on the CPU); other names are returned as given.
std::string resolve_backend(std::string_view configured);

// Creates the communicator of `backend` and joins the group: blocks until all
// options.world_size ranks have joined options.scope of the store, or returns kTimeout after
// options.timeout (kCancelled once options.stop is requested). A scope is joined once: a rank
// that joins it again counts twice.
// kInvalidArgument for an unknown or not-compiled-in backend (the message lists the known
// ones) or for invalid options; kUnavailable when the store or the transport cannot be set up.
Result<std::unique_ptr<Communicator>> make_communicator(std::string_view backend,
                                                        const CommunicatorOptions& options);

} // namespace caravan::wsync
