// File: weights_sync/gloo_communicator.cpp
// The only translation unit that touches c10d's Gloo process group. Every c10d exception is
// caught here and turned into a Status.
#include "weights_sync/gloo_communicator.h"

#include <chrono>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <ATen/ATen.h>
#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>

#include "core/str_cat.h"
#include "weights_sync/c10d_status.h"
#include "weights_sync/first_failure.h"
#include "weights_sync/rendezvous_store_handle.h"

namespace caravan::wsync {
namespace {

bool is_loopback(const std::string& host) {
  return host == "localhost" || host.rfind("127.", 0) == 0 || host == "::1";
}

// Counts this rank in the store and polls until all `world_size` ranks have; kTimeout naming
// how many joined once `deadline` passes, kCancelled on a stop request.
Status wait_for_all_ranks(c10d::Store& store, int world_size, std::chrono::steady_clock::time_point deadline,
                          const std::stop_token& stop, const std::string& context) {
  static const std::string kJoinedKey = "joined";
  int64_t joined = 0;
  CARAVAN_RETURN_IF_ERROR(guarded(context, [&] { joined = store.add(kJoinedKey, 1); }));
  while (joined < world_size) {
    if (std::chrono::steady_clock::now() >= deadline) {
      return Status::timeout(str_cat(context, ": only ", joined, " of ", world_size, " ranks joined before the deadline"));
    }
    if (stop.stop_requested()) return Status::cancelled(str_cat(context, ": stop requested"));
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    CARAVAN_RETURN_IF_ERROR(guarded(context, [&] { joined = store.add(kJoinedKey, 0); }));
  }
  return Status::ok_status();
}

class GlooCommunicator final : public Communicator {
 public:
  GlooCommunicator(const CommunicatorOptions& options, c10::intrusive_ptr<c10d::ProcessGroupGloo> group)
      : options_(options), group_(std::move(group)) {}

  Status broadcast(ByteBuffer buffer, int root) override {
    CARAVAN_RETURN_IF_ERROR(validate_broadcast(buffer, root, options_.world_size));
    if (buffer.location != BufferLocation::kHost) {
      return Status::invalid_argument(
          str_cat("broadcast: the gloo backend reaches host memory only, got a ", location_name(buffer.location),
                  " buffer"));
    }
    if (buffer.bytes == 0) return Status::ok_status();
    c10d::BroadcastOptions broadcast_options;
    broadcast_options.rootRank = root;
    broadcast_options.timeout = options_.timeout;
    // A non-owning uint8 view: the caller's buffer outlives the wait below (which ends, one way
    // or another, within options_.timeout).
    std::vector<at::Tensor> tensors{at::from_blob(buffer.data, {buffer.bytes}, at::kByte)};
    return run_collective(str_cat("broadcast of ", buffer.bytes, " bytes from root ", root),
                          [&] { return group_->broadcast(tensors, broadcast_options); });
  }

  Status all_reduce_sum(ByteBuffer buffer) override {
    CARAVAN_RETURN_IF_ERROR(validate_all_reduce(buffer));
    if (buffer.location != BufferLocation::kHost) {
      return Status::invalid_argument(
          str_cat("all_reduce_sum: the gloo backend reaches host memory only, got a ", location_name(buffer.location),
                  " buffer"));
    }
    if (buffer.bytes == 0) return Status::ok_status();
    c10d::AllreduceOptions reduce_options;
    reduce_options.reduceOp = c10d::ReduceOp::SUM;
    reduce_options.timeout = options_.timeout;
    // A non-owning float32 view, kept alive by the caller as in broadcast().
    std::vector<at::Tensor> tensors{
        at::from_blob(buffer.data, {buffer.bytes / static_cast<int64_t>(sizeof(float))}, at::kFloat)};
    return run_collective(str_cat("all_reduce_sum of ", buffer.bytes, " bytes"),
                          [&] { return group_->allreduce(tensors, reduce_options); });
  }

  Status barrier() override {
    c10d::BarrierOptions barrier_options;
    barrier_options.timeout = options_.timeout;
    return run_collective("barrier", [&] { return group_->barrier(barrier_options); });
  }

  bool broken() const override { return failure_.failed(); }
  int rank() const override { return options_.rank; }
  int world_size() const override { return options_.world_size; }
  std::string_view backend_name() const override { return "gloo"; }

 private:
  // Issues one collective through `start` and waits up to options_.timeout for it. A failure
  // breaks the communicator: the other ranks may be at a different point of the sequence.
  template <class Start>
  Status run_collective(const std::string& what, Start&& start) {
    const std::string context = str_cat("gloo rank ", options_.rank, "/", options_.world_size, ": ", what);
    CARAVAN_RETURN_IF_ERROR(failure_.check_usable(context));
    Status status = failure_.record(guarded(context, [&] {
      c10::intrusive_ptr<c10d::Work> work = start();
      work->wait(options_.timeout);
    }));
    if (!status.ok()) {
      // Closing the group now makes the other members fail at once instead of at their own
      // deadline. This waits for the failed operation, which has ended or ends at its timeout.
      group_.reset();
    }
    return status;
  }

  const CommunicatorOptions options_;
  // Null once a collective failed.
  c10::intrusive_ptr<c10d::ProcessGroupGloo> group_;
  FirstFailure failure_;
};

} // namespace

Result<std::unique_ptr<Communicator>> make_gloo_communicator(const CommunicatorOptions& options) {
  CARAVAN_RETURN_IF_ERROR(validate_options(options));
  const auto deadline = std::chrono::steady_clock::now() + options.timeout;
  const std::string& host = options.store->host();
  const std::string context = str_cat("gloo rank ", options.rank, "/", options.world_size, ": joining \"",
                                      options.scope, "\" of store ", host, ":", options.store->port());
  // Every key of this group (the join count, Gloo's addresses) lives under the group's scope.
  const auto store = c10::make_intrusive<c10d::PrefixStore>(options.scope, options.store->handle().store);
  CARAVAN_RETURN_IF_ERROR(wait_for_all_ranks(*store, options.world_size, deadline, options.stop, context));
  c10::intrusive_ptr<c10d::ProcessGroupGloo> group;
  CARAVAN_RETURN_IF_ERROR(guarded(context, [&] {
    auto gloo_options = c10d::ProcessGroupGloo::Options::create(options.timeout);
    gloo_options->devices.push_back(is_loopback(host) ? c10d::ProcessGroupGloo::createDeviceForHostname(host)
                                        : c10d::ProcessGroupGloo::createDefaultDevice());
    group = c10::make_intrusive<c10d::ProcessGroupGloo>(store, options.rank, options.world_size, gloo_options);
  }));
  auto communicator = std::make_unique<GlooCommunicator>(options, std::move(group));
  // Gloo's constructor is not a synchronization point: a rank returns once its own connections
  // are made, while its peers may still be completing theirs with it. A rank that then left at
  // once (destroying its group) cut those, and a peer's join failed with "Connection closed by
  // peer" (the flaky DataParallel.ShareSplitsWholeGroupsInRankOrder; PyTorch's fix of its own
  // flaky Gloo tests, pull 61396, is this barrier). Joining returns only when every rank has.
  CARAVAN_RETURN_IF_ERROR_CTX(communicator->barrier(), context);
  return std::unique_ptr<Communicator>(std::move(communicator));
}

} // namespace caravan::wsync
