// File: model/communicator.h
// A group of ranks that run collectives over flat host or device buffers: the narrow interface
// both the weight sync (weights_sync/: the learner's rank 0 broadcasts to the rollout actors)
// and the learner's data-parallel ranks (learner/data_parallel.h: gradient sums, parameter
// broadcasts) use. It lives here, below both, like the weight-transport interface; the backends
// (Gloo; NCCL and CUDA IPC with CARAVAN_WITH_CUDA) and make_communicator() are in
// weights_sync/communicator.h. LibTorch-free.
//
//   std::vector<float> sums(n);
//   CARAVAN_RETURN_IF_ERROR(comm.all_reduce_sum({sums.data(), n * 4, BufferLocation::kHost}));
#pragma once

#include <cstdint>
#include <string_view>

#include "core/status.h"

namespace caravan::model {

// Where the bytes of a ByteBuffer live.
enum class BufferLocation {
  // Ordinary (pageable) host memory.
  kHost,
  // CUDA device memory of the communicator's device (GPU backends only).
  kDevice,
};

// A flat run of bytes a collective reads or writes in place; not owned.
struct ByteBuffer {
  void* data = nullptr;
  int64_t bytes = 0;
  BufferLocation location = BufferLocation::kHost;
};

// "host" / "device", for messages.
std::string_view location_name(BufferLocation location);

// The argument checks every backend's broadcast() starts with: kInvalidArgument for a root
// outside [0, world_size), bytes < 0, or a null buffer with bytes > 0.
[[nodiscard]] Status validate_broadcast(const ByteBuffer& buffer, int root, int world_size);

// The argument checks of all_reduce_sum(): kInvalidArgument for bytes < 0, bytes not a multiple
// of 4 (float32 elements), or a null buffer with bytes > 0.
[[nodiscard]] Status validate_all_reduce(const ByteBuffer& buffer);

// A group of ranks that run collectives over tensors.
// Not thread-safe: one owner thread issues all calls, in the same order on every rank.
// Non-copyable and non-movable; held by unique_ptr.
// After a collective fails (kTimeout, kUnavailable) the group is broken (see broken()): every
// later call returns kFailedPrecondition naming the first error. Destroying a communicator
// waits for its in-flight operation, which ends within the group's timeout of its start. The
// backend may still touch the buffer of a failed collective until the communicator is
// destroyed: callers keep such buffers alive that long.
class Communicator {
 public:
  Communicator() = default;
  Communicator(const Communicator&) = delete;
  Communicator& operator=(const Communicator&) = delete;
  virtual ~Communicator() = default;

  // Rank `root` sends the bytes of `buffer`; other ranks receive into theirs in place. Every
  // rank passes the same byte count. Blocks until done. kInvalidArgument for a bad root, a null
  // buffer with bytes > 0, or a location the backend cannot reach (gloo: host only); kTimeout
  // after the group's timeout, kUnavailable if a peer left.
  [[nodiscard]] virtual Status broadcast(ByteBuffer buffer, int root) = 0;

  // Returns once every rank has entered barrier(). kTimeout / kUnavailable as broadcast().
  [[nodiscard]] virtual Status barrier() = 0;

  // `buffer` holds float32 values; on return every rank's buffer holds their elementwise sum over
  // the ranks. Every rank passes the same byte count. Used by the data-parallel learner ranks
  // (learner/data_parallel.h). Errors as broadcast(); the cuda_ipc backend (a one-to-many copy)
  // has no reduction and returns kInvalidArgument.
  [[nodiscard]] virtual Status all_reduce_sum(ByteBuffer buffer) = 0;

  // True once a collective failed: the group is unusable and must be formed anew (a fresh scope).
  virtual bool broken() const = 0;

  virtual int rank() const = 0;
  virtual int world_size() const = 0;
  // "gloo", "nccl", "cuda_ipc".
  virtual std::string_view backend_name() const = 0;
};

} // namespace caravan::model
