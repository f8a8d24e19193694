// File: weights_sync/sync_control.h
// The control plane of a weight sync: small keys in the group's scope of the rendezvous store
// (the receivers' readiness, the source's header and footer, every receiver's verdict), next to
// the communicator's data plane. Every wait polls with a deadline, so a rank that never posts is
// named instead of blocking anyone: "rank(s) 2 did not post ready within 2000 ms".
//
//   SyncControl control(store, "gen-7/", rank, world_size);
//   CARAVAN_RETURN_IF_ERROR(control.set("sync-3/ready/1", bytes));
//   CARAVAN_ASSIGN_OR_RETURN(std::string header, control.wait_get("sync-3/header", deadline));
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "core/status.h"
#include "weights_sync/rendezvous_store.h"

namespace caravan::wsync {

using Deadline = std::chrono::steady_clock::time_point;

// Owner thread only (the communicator's). Non-copyable.
class SyncControl {
 public:
  SyncControl(std::shared_ptr<RendezvousStore> store, const std::string& scope);
  SyncControl(const SyncControl&) = delete;
  SyncControl& operator=(const SyncControl&) = delete;
  ~SyncControl();

  // kUnavailable when the store is unreachable (its host, the source, is gone).
  Status set(const std::string& key, const std::string& value);
  // The value of `key` once it exists; kTimeout naming the key after `deadline`.
  Result<std::string> wait_get(const std::string& key, Deadline deadline);
  // The values of prefix + r for every r in `ranks`, in that order, once all exist; kTimeout after
  // `deadline` naming the ranks that did not post ("rank(s) 2, 3 did not post <what> ...").
  Result<std::vector<std::string>> gather(const std::string& prefix, const std::vector<int>& ranks, Deadline deadline,
                                          const std::string& what);
  // The ranks among `ranks` whose key prefix + r does not exist yet (one store round trip).
  Result<std::vector<int>> missing(const std::string& prefix, const std::vector<int>& ranks);
  // Deletes `keys` (absent ones are skipped), so that a long run's store does not grow with
  // every sync. Only once no rank will read them again. kUnavailable as set().
  Status erase(const std::vector<std::string>& keys);

 private:
  struct Scoped;
  std::unique_ptr<Scoped> scoped_;
  // Keeps the store (and its server, on the source) alive.
  std::shared_ptr<RendezvousStore> store_;
};

// "2, 3".
std::string join_ranks(const std::vector<int>& ranks);

} // namespace caravan::wsync
