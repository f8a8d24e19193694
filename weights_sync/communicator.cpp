// File: weights_sync/communicator.cpp
#include "weights_sync/communicator.h"

#include "core/str_cat.h"
#include "weights_sync/gloo_communicator.h"

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

Result<std::unique_ptr<Communicator>> make_communicator(std::string_view backend,
                                                        const CommunicatorOptions& options) {
  if (backend == "gloo") return make_gloo_communicator(options);
  return Status::invalid_argument(
      str_cat("unknown communicator backend \"", backend, "\"; known backends in this build: gloo"));
}

} // namespace caravan::wsync
