// File: weights_sync/cuda_ipc_communicator.cpp
#include "weights_sync/cuda_ipc_communicator.h"

#include <chrono>
#include <cstring>
#include <vector>

#include "core/str_cat.h"
#include "weights_sync/cuda_status.h"
#include "weights_sync/first_failure.h"
#include "weights_sync/sync_control.h"

namespace caravan::wsync {
namespace {

using Clock = std::chrono::steady_clock;

struct IpcClose {
  void operator()(void* pointer) const { (void)cudaIpcCloseMemHandle(pointer); }
};

cudaMemcpyKind copy_kind(BufferLocation from, BufferLocation to) {
  const bool from_host = from == BufferLocation::kHost;
  const bool to_host = to == BufferLocation::kHost;
  if (from_host) return to_host ? cudaMemcpyHostToHost : cudaMemcpyHostToDevice;
  return to_host ? cudaMemcpyDeviceToHost : cudaMemcpyDeviceToDevice;
}

class CudaIpcCommunicator final : public Communicator {
 public:
  CudaIpcCommunicator(const CommunicatorOptions& options, CudaStreamPtr stream)
      : options_(options), control_(options.store, options.scope), stream_(std::move(stream)) {
    for (int r = 1; r < options.world_size; ++r) receivers_.push_back(r);
  }

  Status broadcast(ByteBuffer buffer, int root) override {
    CARAVAN_RETURN_IF_ERROR(validate_broadcast(buffer, root, options_.world_size));
    if (root != 0) return Status::invalid_argument(str_cat("broadcast: the cuda_ipc backend sends from rank 0 only, got root ", root));
    const std::string what = str_cat("broadcast of ", buffer.bytes, " bytes (call ", calls_, ")");
    CARAVAN_RETURN_IF_ERROR(failure_.check_usable(context(what)));
    if (buffer.bytes == 0 || receivers_.empty()) return Status::ok_status();
    return guard(what, options_.rank == 0 ? send(buffer) : receive(buffer));
  }

  Status all_reduce_sum(ByteBuffer buffer) override {
    CARAVAN_RETURN_IF_ERROR(validate_all_reduce(buffer));
    return Status::invalid_argument("all_reduce_sum: the cuda_ipc backend copies from rank 0 only and has no "
                                    "reduction (data-parallel learner ranks use gloo or nccl)");
  }

  Status barrier() override {
    CARAVAN_RETURN_IF_ERROR(failure_.check_usable(context("barrier")));
    const std::string key = str_cat("ipc/barrier-", calls_++, "/");
    Status status = control_.set(str_cat(key, options_.rank), "");
    if (status.ok()) {
      std::vector<int> others;
      for (int r = 0; r < options_.world_size; ++r) {
        if (r != options_.rank) others.push_back(r);
      }
      status = control_.gather(key, others, Clock::now() + options_.timeout, "the barrier").status();
    }
    return guard("barrier", status);
  }

  bool broken() const override { return failure_.failed(); }
  int rank() const override { return options_.rank; }
  int world_size() const override { return options_.world_size; }
  std::string_view backend_name() const override { return "cuda_ipc"; }

 private:
  std::string context(const std::string& what) const {
    return str_cat("cuda_ipc rank ", options_.rank, "/", options_.world_size, ": ", what);
  }

  // A failed step of a collective breaks the communicator.
  Status guard(const std::string& what, const Status& status) {
    return status.ok() ? status : failure_.record(status.with_context(context(what)));
  }

  // Root: (re-)export when the buffer is too small, fill it, announce it, wait for every copy.
  Status send(const ByteBuffer& buffer) {
    const std::string key = str_cat("ipc/", calls_++, "/");
    CARAVAN_RETURN_IF_ERROR(cuda_status(cudaSetDevice(options_.device), "cudaSetDevice"));
    if (buffer.bytes > exported_.bytes()) {
      CARAVAN_RETURN_IF_ERROR(exported_.reserve(buffer.bytes));
      cudaIpcMemHandle_t handle;
      CARAVAN_RETURN_IF_ERROR(cuda_status(cudaIpcGetMemHandle(&handle, exported_.data()), "cudaIpcGetMemHandle"));
      CARAVAN_RETURN_IF_ERROR(control_.set(key + "handle", std::string(handle.reserved, sizeof(handle.reserved))));
    }
    CARAVAN_RETURN_IF_ERROR(copy(exported_.data(), BufferLocation::kDevice, buffer.data, buffer.location, buffer.bytes));
    CARAVAN_RETURN_IF_ERROR(control_.set(key + "ready", ""));
    CARAVAN_RETURN_IF_ERROR(control_.gather(key + "done/", receivers_, Clock::now() + options_.timeout, "its copy").status());
    // Every receiver mapped and copied: nobody reads this call's keys again.
    std::vector<std::string> done{key + "handle", key + "ready"};
    for (const int r : receivers_) done.push_back(str_cat(key, "done/", r));
    return control_.erase(done);
  }

  // Receiver: map a new export when the byte count grew, wait for the data, copy it out.
  Status receive(const ByteBuffer& buffer) {
    const std::string key = str_cat("ipc/", calls_++, "/");
    const Clock::time_point deadline = Clock::now() + options_.timeout;
    CARAVAN_RETURN_IF_ERROR(cuda_status(cudaSetDevice(options_.device), "cudaSetDevice"));
    if (buffer.bytes > mapped_bytes_) {
      CARAVAN_ASSIGN_OR_RETURN(const std::string posted, control_.wait_get(key + "handle", deadline));
      cudaIpcMemHandle_t handle;
      if (posted.size() != sizeof(handle.reserved)) {
        return Status::data_loss(str_cat("the IPC handle in the store has ", posted.size(), " bytes"));
      }
      std::memcpy(handle.reserved, posted.data(), sizeof(handle.reserved));
      mapped_.reset();
      void* pointer = nullptr;
      CARAVAN_RETURN_IF_ERROR(cuda_status(cudaIpcOpenMemHandle(&pointer, handle, cudaIpcMemLazyEnablePeerAccess),
                                          "cudaIpcOpenMemHandle"));
      mapped_.reset(pointer);
      mapped_bytes_ = buffer.bytes;
    }
    CARAVAN_RETURN_IF_ERROR(control_.wait_get(key + "ready", deadline).status());
    CARAVAN_RETURN_IF_ERROR(copy(buffer.data, buffer.location, mapped_.get(), BufferLocation::kDevice, buffer.bytes));
    return control_.set(str_cat(key, "done/", options_.rank), "");
  }

  Status copy(void* to, BufferLocation to_location, const void* from, BufferLocation from_location, int64_t bytes) {
    CARAVAN_RETURN_IF_ERROR(cuda_status(cudaMemcpyAsync(to, from, static_cast<size_t>(bytes),
                                                        copy_kind(from_location, to_location), stream_.get()),
                                        "cudaMemcpyAsync"));
    return cuda_status(cudaStreamSynchronize(stream_.get()), "cudaStreamSynchronize");
  }

  const CommunicatorOptions options_;
  SyncControl control_;
  CudaStreamPtr stream_;
  std::vector<int> receivers_;
  // Collectives issued so far: names each one's store keys.
  int64_t calls_ = 0;
  // Root: the exported buffer. Receivers: the root's buffer mapped here, and its size.
  DeviceBuffer exported_;
  std::unique_ptr<void, IpcClose> mapped_;
  int64_t mapped_bytes_ = 0;
  FirstFailure failure_;
};

} // namespace

Result<std::unique_ptr<Communicator>> make_cuda_ipc_communicator(const CommunicatorOptions& options) {
  CARAVAN_RETURN_IF_ERROR(validate_options(options));
  const std::string context = str_cat("cuda_ipc rank ", options.rank, "/", options.world_size, " on GPU ",
                                      options.device, ": joining \"", options.scope, "\"");
  CARAVAN_RETURN_IF_ERROR_CTX(cuda_status(cudaSetDevice(options.device), "cudaSetDevice"), context);
  CARAVAN_ASSIGN_OR_RETURN(CudaStreamPtr stream, make_stream());
  auto communicator = std::make_unique<CudaIpcCommunicator>(options, std::move(stream));
  // Every rank is in the group once the barrier passes (the deadline names who is missing).
  CARAVAN_RETURN_IF_ERROR_CTX(communicator->barrier(), context);
  return std::unique_ptr<Communicator>(std::move(communicator));
}

} // namespace caravan::wsync
