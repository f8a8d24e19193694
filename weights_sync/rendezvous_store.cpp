// File: weights_sync/rendezvous_store.cpp
#include "weights_sync/rendezvous_store.h"

#include <algorithm>
#include <cstdint>
#include <utility>

#include "core/str_cat.h"
#include "weights_sync/c10d_status.h"
#include "weights_sync/rendezvous_store_handle.h"

namespace caravan::wsync {
namespace {

Status validate(const std::string& host, int port, int lowest_port, std::chrono::milliseconds timeout) {
  if (host.empty()) return Status::invalid_argument("store_host: must not be empty");
  if (port < lowest_port || port > 65535) {
    return Status::invalid_argument(str_cat("store_port: expected ", lowest_port, " <= port <= 65535, got ", port));
  }
  if (timeout <= std::chrono::milliseconds::zero()) {
    return Status::invalid_argument(str_cat("timeout: expected > 0 ms, got ", timeout.count(), " ms"));
  }
  return Status::ok_status();
}

// One attempt to start (server) or reach (client) the store; c10d's own connect timeout is
// `attempt_timeout`, and later operations give up after `timeout`.
Result<std::shared_ptr<RendezvousStore>> open_store(const std::string& host, int port, bool server,
                                                    std::chrono::milliseconds attempt_timeout,
                                                    std::chrono::milliseconds timeout, const std::string& context) {
  auto handle = std::make_unique<RendezvousStore::Handle>();
  CARAVAN_RETURN_IF_ERROR(guarded(context, [&] {
    c10d::TCPStoreOptions options;
    options.port = static_cast<std::uint16_t>(port);
    options.isServer = server;
    // Ranks are counted per generation (gloo_communicator.cpp), never by c10d.
    options.waitWorkers = false;
    options.timeout = attempt_timeout;
    handle->store = c10::make_intrusive<c10d::TCPStore>(host, options);
    handle->store->setTimeout(timeout);
  }));
  return std::make_shared<RendezvousStore>(host, std::move(handle));
}

} // namespace

RendezvousStore::RendezvousStore(std::string host, std::unique_ptr<Handle> handle)
    : host_(std::move(host)), handle_(std::move(handle)) {}

RendezvousStore::~RendezvousStore() = default;

int RendezvousStore::port() const { return handle_->store->getPort(); }

Result<std::shared_ptr<RendezvousStore>> RendezvousStore::serve(const std::string& host, int port,
                                                                std::chrono::milliseconds timeout) {
  CARAVAN_RETURN_IF_ERROR_CTX(validate(host, port, /*lowest_port=*/0, timeout), "weight-sync store");
  return open_store(host, port, /*server=*/true, timeout, timeout,
                    str_cat("weight-sync store: serving on port ", port));
}

Result<std::shared_ptr<RendezvousStore>> RendezvousStore::connect(const std::string& host, int port,
                                                                  std::chrono::milliseconds timeout,
                                                                  std::stop_token stop) {
  CARAVAN_RETURN_IF_ERROR_CTX(validate(host, port, /*lowest_port=*/1, timeout), "weight-sync store");
  const std::string context = str_cat("weight-sync store: connecting to ", host, ":", port);
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  // c10d retries until its timeout; attempts of at most a second let a stop request through.
  while (true) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    auto store = open_store(host, port, /*server=*/false,
                            std::clamp(left, std::chrono::milliseconds(1), std::chrono::milliseconds(1000)), timeout,
                            context);
    if (store.ok() || std::chrono::steady_clock::now() >= deadline) return store;
    if (stop.stop_requested()) return Status::cancelled(str_cat(context, ": stop requested"));
  }
}

} // namespace caravan::wsync
