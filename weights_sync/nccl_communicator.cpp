// File: weights_sync/nccl_communicator.cpp
// The only translation unit that calls NCCL.
#include "weights_sync/nccl_communicator.h"

#include <nccl.h>

#include <chrono>
#include <cstring>
#include <thread>

#include "core/str_cat.h"
#include "weights_sync/cuda_status.h"
#include "weights_sync/first_failure.h"
#include "weights_sync/sync_control.h"

namespace caravan::wsync {
namespace {

using Clock = std::chrono::steady_clock;
constexpr auto kPoll = std::chrono::microseconds(50);
const char* const kUniqueIdKey = "nccl-unique-id";

Status nccl_status(ncclResult_t result, ncclComm_t comm, const std::string& what) {
  if (result == ncclSuccess || result == ncclInProgress) return Status::ok_status();
  const char* last = comm != nullptr ? ncclGetLastError(comm) : nullptr;
  return Status::unavailable(
      str_cat(what, ": ", ncclGetErrorString(result), last != nullptr && *last != '\0' ? str_cat(" (", last, ")") : ""));
}

// Polls `comm` until `done()` (or, without one, until its asynchronous state leaves
// ncclInProgress); kTimeout at `deadline`, kCancelled on `stop`, kUnavailable on an NCCL error.
template <class Done>
Status poll_until(ncclComm_t comm, Clock::time_point deadline, const std::stop_token& stop, const std::string& what,
                  Done&& done) {
  while (true) {
    ncclResult_t async = ncclSuccess;
    CARAVAN_RETURN_IF_ERROR(nccl_status(ncclCommGetAsyncError(comm, &async), comm, what));
    CARAVAN_RETURN_IF_ERROR(nccl_status(async, comm, what));
    Result<bool> finished = done(async);
    if (!finished.ok()) return finished.status();
    if (*finished) return Status::ok_status();
    if (Clock::now() >= deadline) return Status::timeout(str_cat(what, ": not done before the deadline"));
    if (stop.stop_requested()) return Status::cancelled(str_cat(what, ": stop requested"));
    std::this_thread::sleep_for(kPoll);
  }
}

class NcclCommunicator final : public Communicator {
 public:
  NcclCommunicator(const CommunicatorOptions& options, ncclComm_t comm, CudaStreamPtr stream, DeviceBuffer scratch)
      : options_(options), comm_(comm), stream_(std::move(stream)), scratch_(std::move(scratch)) {}

  ~NcclCommunicator() override {
    if (comm_ == nullptr) return;
    (void)cudaSetDevice(options_.device);
    // A healthy communicator flushes and is destroyed; one that does not finish within the
    // deadline is aborted, which never blocks.
    const Status finalized = [&] {
      CARAVAN_RETURN_IF_ERROR(nccl_status(ncclCommFinalize(comm_), comm_, "ncclCommFinalize"));
      return poll_until(comm_, Clock::now() + options_.timeout, {}, "ncclCommFinalize",
                        [](ncclResult_t async) -> Result<bool> { return async != ncclInProgress; });
    }();
    if (finalized.ok()) {
      (void)ncclCommDestroy(comm_);
    } else {
      (void)ncclCommAbort(comm_);
    }
  }

  Status broadcast(ByteBuffer buffer, int root) override {
    CARAVAN_RETURN_IF_ERROR(validate_broadcast(buffer, root, options_.world_size));
    if (buffer.bytes == 0) return Status::ok_status();
    const std::string what = str_cat("broadcast of ", buffer.bytes, " bytes from root ", root);
    const bool is_root = options_.rank == root;
    return run_staged(what, buffer, /*copy_in=*/is_root, /*copy_out=*/!is_root, [&](void* device) {
      return ncclBroadcast(device, device, static_cast<size_t>(buffer.bytes), ncclUint8, root, comm_, stream_.get());
    });
  }

  Status all_reduce_sum(ByteBuffer buffer) override {
    CARAVAN_RETURN_IF_ERROR(validate_all_reduce(buffer));
    if (buffer.bytes == 0) return Status::ok_status();
    const std::string what = str_cat("all_reduce_sum of ", buffer.bytes, " bytes");
    const auto count = static_cast<size_t>(buffer.bytes) / sizeof(float);
    return run_staged(what, buffer, /*copy_in=*/true, /*copy_out=*/true, [&](void* device) {
      return ncclAllReduce(device, device, count, ncclFloat32, ncclSum, comm_, stream_.get());
    });
  }

  Status barrier() override {
    CARAVAN_RETURN_IF_ERROR(failure_.check_usable(context("barrier")));
    CARAVAN_RETURN_IF_ERROR(cuda_status(cudaSetDevice(options_.device), "cudaSetDevice"));
    CARAVAN_RETURN_IF_ERROR(scratch_.reserve(sizeof(int32_t)));
    return run("barrier", [&] {
      return ncclAllReduce(scratch_.data(), scratch_.data(), 1, ncclInt32, ncclSum, comm_, stream_.get());
    });
  }

  bool broken() const override { return failure_.failed(); }
  int rank() const override { return options_.rank; }
  int world_size() const override { return options_.world_size; }
  std::string_view backend_name() const override { return "nccl"; }

 private:
  std::string context(const std::string& what) const {
    return str_cat("nccl rank ", options_.rank, "/", options_.world_size, ": ", what);
  }

  // Issues one collective and waits for the stream within options_.timeout; a failure aborts
  // the communicator (the other ranks may be at another point of the sequence).
  // Runs `collective(device pointer)` on `buffer` in place when it is device memory; a host
  // buffer goes through the device scratch: copied in first when `copy_in`, copied back (and the
  // stream synchronised) after when `copy_out`.
  template <class Collective>
  Status run_staged(const std::string& what, const ByteBuffer& buffer, bool copy_in, bool copy_out,
                    Collective&& collective) {
    CARAVAN_RETURN_IF_ERROR(failure_.check_usable(context(what)));
    CARAVAN_RETURN_IF_ERROR(cuda_status(cudaSetDevice(options_.device), "cudaSetDevice"));
    const bool staged = buffer.location == BufferLocation::kHost;
    void* device = buffer.data;
    if (staged) {
      CARAVAN_RETURN_IF_ERROR(scratch_.reserve(buffer.bytes));
      device = scratch_.data();
      if (copy_in) {
        CARAVAN_RETURN_IF_ERROR(cuda_status(cudaMemcpyAsync(device, buffer.data, static_cast<size_t>(buffer.bytes),
                                                            cudaMemcpyHostToDevice, stream_.get()),
                                            "cudaMemcpyAsync to the device"));
      }
    }
    CARAVAN_RETURN_IF_ERROR(run(what, [&] { return collective(device); }));
    if (staged && copy_out) {
      CARAVAN_RETURN_IF_ERROR(cuda_status(cudaMemcpyAsync(buffer.data, device, static_cast<size_t>(buffer.bytes),
                                                          cudaMemcpyDeviceToHost, stream_.get()),
                                          "cudaMemcpyAsync to the host"));
      CARAVAN_RETURN_IF_ERROR(cuda_status(cudaStreamSynchronize(stream_.get()), "cudaStreamSynchronize"));
    }
    return Status::ok_status();
  }

  template <class Issue>
  Status run(const std::string& what, Issue&& issue) {
    const std::string where = context(what);
    Status status = nccl_status(issue(), comm_, where);
    if (status.ok()) {
      status = poll_until(comm_, Clock::now() + options_.timeout, options_.stop, where,
                          [&](ncclResult_t) -> Result<bool> {
                            const cudaError_t query = cudaStreamQuery(stream_.get());
                            if (query == cudaErrorNotReady) return false;
                            CARAVAN_RETURN_IF_ERROR(cuda_status(query, str_cat(where, ": cudaStreamQuery")));
                            return true;
                          });
    }
    if (!failure_.record(status).ok()) {
      (void)ncclCommAbort(comm_);
      comm_ = nullptr;
    }
    return status;
  }

  const CommunicatorOptions options_;
  // Null once aborted.
  ncclComm_t comm_;
  CudaStreamPtr stream_;
  // Staging for host buffers and the barrier's operand.
  DeviceBuffer scratch_;
  FirstFailure failure_;
};

} // namespace

Result<std::unique_ptr<Communicator>> make_nccl_communicator(const CommunicatorOptions& options) {
  CARAVAN_RETURN_IF_ERROR(validate_options(options));
  const Clock::time_point deadline = Clock::now() + options.timeout;
  const std::string context = str_cat("nccl rank ", options.rank, "/", options.world_size, " on GPU ", options.device,
                                      ": joining \"", options.scope, "\"");
  CARAVAN_RETURN_IF_ERROR_CTX(cuda_status(cudaSetDevice(options.device), "cudaSetDevice"), context);
  SyncControl control(options.store, options.scope);
  ncclUniqueId id;
  if (options.rank == 0) {
    CARAVAN_RETURN_IF_ERROR_CTX(nccl_status(ncclGetUniqueId(&id), nullptr, "ncclGetUniqueId"), context);
    CARAVAN_RETURN_IF_ERROR_CTX(control.set(kUniqueIdKey, std::string(id.internal, sizeof(id.internal))), context);
  } else {
    Result<std::string> posted = control.wait_get(kUniqueIdKey, deadline);
    if (!posted.ok()) return posted.status().with_context(context);
    if (posted->size() != sizeof(id.internal)) {
      return Status::data_loss(str_cat(context, ": the ncclUniqueId in the store has ", posted->size(), " bytes, expected ",
                                       sizeof(id.internal)));
    }
    std::memcpy(id.internal, posted->data(), sizeof(id.internal));
  }
  ncclConfig_t config = NCCL_CONFIG_INITIALIZER;
  config.blocking = 0;
  ncclComm_t comm = nullptr;
  Status initialized = nccl_status(ncclCommInitRankConfig(&comm, options.world_size, id, options.rank, &config), comm,
                                   "ncclCommInitRankConfig");
  if (initialized.ok()) {
    initialized = poll_until(comm, deadline, options.stop, "ncclCommInitRankConfig",
                             [](ncclResult_t async) -> Result<bool> { return async != ncclInProgress; });
  }
  if (!initialized.ok()) {
    if (comm != nullptr) (void)ncclCommAbort(comm);
    return initialized.with_context(context);
  }
  Result<CudaStreamPtr> stream = make_stream();
  if (!stream.ok()) {
    (void)ncclCommAbort(comm);
    return stream.status().with_context(context);
  }
  return std::unique_ptr<Communicator>(
      std::make_unique<NcclCommunicator>(options, comm, std::move(*stream), DeviceBuffer()));
}

} // namespace caravan::wsync
