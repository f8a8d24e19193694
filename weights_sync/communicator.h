// File: weights_sync/communicator.h
// Moves flat tensors between the ranks of a weight-sync group: the learner's rank 0 is the
// source, rollout actors (and learner peers) receive. This is the narrow interface that the
// rest of Caravan sees; c10d and every ProcessGroup type stay inside weights_sync/.
// Implementations: "gloo" (CPU, loopback or TCP). "nccl" and "cuda_ipc" come in a later issue.
//
// Sample usage (every rank runs the same sequence of calls):
//   CommunicatorOptions options;
//   options.rank = rank;
//   options.world_size = 3;
//   options.store = store;       // RendezvousStore::serve on rank 0, ::connect elsewhere
//   options.scope = "gen-7/";    // fresh for every group formed over that store
//   CARAVAN_ASSIGN_OR_RETURN(std::unique_ptr<Communicator> comm, make_communicator("gloo", options));
//   at::Tensor bucket = at::empty({1024}, at::kFloat);  // root fills it; the others receive
//   CARAVAN_RETURN_IF_ERROR(comm->broadcast(bucket, /*root=*/0));
#pragma once

#include <chrono>
#include <memory>
#include <stop_token>
#include <string>
#include <string_view>

#include <ATen/core/Tensor.h>

#include "core/status.h"
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
};

// ok, or kInvalidArgument naming the first bad field of `options` (rank outside
// [0, world_size), world_size < 1, no store, timeout <= 0).
[[nodiscard]] Status validate_options(const CommunicatorOptions& options);

// Element-wise reduction of all_reduce().
enum class ReduceOp { kSum, kMin, kMax };

// A group of ranks that run collectives over tensors.
// Not thread-safe: one owner thread issues all calls, in the same order on every rank.
// Non-copyable and non-movable; held by unique_ptr.
// After a collective fails (kTimeout, kUnavailable) the group is broken (see broken()): every
// later call returns kFailedPrecondition naming the first error. Destroying a communicator
// waits for its in-flight operation, which ends within options.timeout of its start.
class Communicator {
 public:
  Communicator() = default;
  Communicator(const Communicator&) = delete;
  Communicator& operator=(const Communicator&) = delete;
  virtual ~Communicator() = default;

  // Rank `root` sends `tensor`; other ranks receive into it in place. Every rank passes a
  // contiguous tensor of the same dtype and numel (any dtype: the bytes are copied).
  // Blocks until done. kInvalidArgument for a bad root or a non-contiguous tensor, kTimeout
  // after options.timeout, kUnavailable if a peer left.
  [[nodiscard]] virtual Status broadcast(at::Tensor& tensor, int root) = 0;

  // Replaces `tensor` on every rank by the element-wise reduction over all ranks. Every rank
  // passes a contiguous tensor of the same shape and a numeric dtype (int32, int64, float32,
  // float64). Errors as broadcast().
  [[nodiscard]] virtual Status all_reduce(at::Tensor& tensor, ReduceOp op) = 0;

  // Returns once every rank has entered barrier(). kTimeout / kUnavailable as broadcast().
  [[nodiscard]] virtual Status barrier() = 0;

  // True once a collective failed: the group is unusable and must be formed anew (a fresh scope).
  virtual bool broken() const = 0;

  virtual int rank() const = 0;
  virtual int world_size() const = 0;
  // "gloo", ...
  virtual std::string_view backend_name() const = 0;
};

// Creates the communicator of `backend` and joins the group: blocks until all
// options.world_size ranks have joined options.scope of the store, or returns kTimeout after
// options.timeout (kCancelled once options.stop is requested). A scope is joined once: a rank
// that joins it again counts twice.
// kInvalidArgument for an unknown or not-compiled-in backend (the message lists the known
// ones) or for invalid options; kUnavailable when the store or the transport cannot be set up.
Result<std::unique_ptr<Communicator>> make_communicator(std::string_view backend,
                                                        const CommunicatorOptions& options);

} // namespace caravan::wsync
