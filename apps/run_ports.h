// File: apps/run_ports.h
// The ports `caravan run` picks for a run on this machine ([cluster] controller_port,
// weights_sync_port, and [learner] rendezvous_port when ranks > 1, when the config leaves them
// 0), and what happens to them on --resume: the
// ports it picked itself are recorded in RUN_DIR/launcher_state.json, and one of them that
// another process holds by then is picked again; a port the user set is never changed.
//
//   CARAVAN_ASSIGN_OR_RETURN(std::vector<std::string> picked, pick_unset_ports(config));
//   ... RunDirectory::create(...) ...
//   CARAVAN_RETURN_IF_ERROR(write_auto_picked_ports(run_dir, picked));
//   // on --resume:
//   CARAVAN_ASSIGN_OR_RETURN(std::vector<std::string> picked, read_auto_picked_ports(run_dir));
//   CARAVAN_RETURN_IF_ERROR(repick_taken_ports(config, picked, run_dir.config_path()));
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "apps/run_config.h"
#include "core/run_directory.h"
#include "core/status.h"

namespace caravan::apps {

// Sets every pickable port the config leaves 0 to a free port on [cluster] host, each distinct
// from the run's other ports, and returns their keys ("controller_port", ...). A picked port is
// released before use, so another process could take it first; binding then fails loudly in the
// worker that needs it. kInvalidArgument when the host is not an IPv4 address.
Result<std::vector<std::string>> pick_unset_ports(RunConfig& config);

// Records `keys` (from pick_unset_ports) in the run directory, atomically.
Status write_auto_picked_ports(const core::RunDirectory& run_dir, const std::vector<std::string>& keys);

// The keys write_auto_picked_ports recorded; none when it never ran. kInvalidArgument naming the
// file and key when the record is malformed.
Result<std::vector<std::string>> read_auto_picked_ports(const core::RunDirectory& run_dir);

// For every pickable port that cannot be bound now (SO_REUSEADDR, as ZeroMQ and the c10d store
// bind, so a port left in TIME_WAIT by the previous run counts as free): picks it again when its
// key is in `auto_picked`, else kFailedPrecondition naming `config_file`, the key and the port.
Status repick_taken_ports(RunConfig& config, const std::vector<std::string>& auto_picked,
                          const std::filesystem::path& config_file);

} // namespace caravan::apps
