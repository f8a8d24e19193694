// File: weights_sync/rendezvous_store.h
// The key-value store where the ranks of a weight-sync group meet (a c10d TCPStore). The
// learner's rank 0 serves one for the whole run; every generation of the group forms its
// communicator under its own key scope of that store, so a re-formed group never reads the keys
// of an older one. Receivers connect to it as each SyncWeights says. No c10d type appears here.
//
// Sample usage:
//   // learner, once at startup:
//   CARAVAN_ASSIGN_OR_RETURN(auto served, RendezvousStore::serve("10.0.0.1", 29500, timeout));
//   // rollout actor, when joining a generation:
//   CARAVAN_ASSIGN_OR_RETURN(auto store, RendezvousStore::connect("10.0.0.1", 29500, timeout, stop));
#pragma once

#include <chrono>
#include <memory>
#include <stop_token>
#include <string>

#include "core/status.h"

namespace caravan::wsync {

// Thread-compatible: one thread at a time issues operations through one object (a communicator
// and its backend). Shared by the communicators formed over it; the server stops when the last
// owner lets go.
class RendezvousStore {
 public:
  // The c10d store behind this object; defined in weights_sync/rendezvous_store_handle.h for
  // the backends of weights_sync/ only.
  struct Handle;

  // Serves a store on `port` of every interface of this machine (0 picks a free port: see
  // port()). `host` is how the other ranks reach this machine; the backends bind their own
  // transport to it when it is a loopback address. Every store operation gives up after
  // `timeout`. kInvalidArgument for an empty host, a port outside [0, 65535] or timeout <= 0;
  // kUnavailable when the port cannot be bound (the message names it).
  static Result<std::shared_ptr<RendezvousStore>> serve(const std::string& host, int port,
                                                        std::chrono::milliseconds timeout);

  // Connects to the store served on host:port, retrying until it answers. kInvalidArgument for
  // an empty host, a port outside [1, 65535] or timeout <= 0; kTimeout when nobody answers within
  // `timeout`; kCancelled once `stop` is requested (checked at least once a second).
  static Result<std::shared_ptr<RendezvousStore>> connect(const std::string& host, int port,
                                                          std::chrono::milliseconds timeout, std::stop_token stop);

  RendezvousStore(std::string host, std::unique_ptr<Handle> handle);
  RendezvousStore(const RendezvousStore&) = delete;
  RendezvousStore& operator=(const RendezvousStore&) = delete;
  ~RendezvousStore();

  const std::string& host() const { return host_; }
  // The store's TCP port (the one picked when served on port 0).
  int port() const;
  const Handle& handle() const { return *handle_; }

 private:
  const std::string host_;
  const std::unique_ptr<Handle> handle_;
};

} // namespace caravan::wsync
