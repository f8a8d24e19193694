// File: core/cluster_options.h
// Where the run's processes meet and how they watch each other ([cluster]): the controller's
// address, the weight-sync rendezvous port, heartbeats.
// The run config (apps/run_config.h) holds one; apps/run_config_reader.cpp fills it from TOML.
#pragma once

#include <cstdint>
#include <string>

namespace caravan::core {

// [cluster]: addresses of the run's processes.
struct ClusterOptions {
  // The controller's address: it binds there and every worker connects to it. A worker tells the
  // run where it can be reached (its Hello) by CARAVAN_HOST in its environment, which cluster
  // launchers set per node, else by this host (every role on one machine).
  std::string host = "127.0.0.1";
  // Controller ROUTER port; 0 = `caravan run` picks a free port and records it in the resolved config.
  int64_t controller_port = 0;
  // Port of the weight-sync rendezvous (a c10d TCPStore) the learner serves on its machine; the
  // learner's Hello tells the controller, which names it in every SyncWeights. 0 = `caravan run`
  // picks a free one (a worker started by a cluster launcher picks its own).
  int64_t weights_sync_port = 0;
  // Every process sends a heartbeat this often, seconds, > 0.
  double heartbeat_interval_s = 2.0;
  // A peer silent for this long is dead: the controller re-queues a worker's work, a worker
  // exits when its controller is gone. Seconds, > heartbeat_interval_s.
  double heartbeat_timeout_s = 20.0;
  // How long the controller waits for every worker's first Hello, seconds, > 0.
  double connect_timeout_s = 600.0;
};

} // namespace caravan::core
