#include "apps/run_ports.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <utility>

#include <nlohmann/json.hpp>

#include "core/atomic_file.h"
#include "core/log.h"
#include "core/read_file.h"

namespace caravan::apps {
namespace {

// RUN_DIR/launcher_state.json: {"auto_picked_ports": ["controller_port", ...]}.
constexpr const char* kLauncherStateFile = "launcher_state.json";

// Binds a TCP socket to `host`:`port` (0: any free port) as the workers' listeners will, with
// SO_REUSEADDR (ZeroMQ and the c10d store set it too, so a port left in TIME_WAIT by a previous
// run counts as free), and returns the bound port. kUnavailable when the port cannot be bound.
Result<int64_t> bind_probe(const std::string& host, int64_t port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return Status::unavailable("socket() failed while probing a port");
  const int reuse = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &reuse, sizeof(reuse));
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>(port));
  if (::inet_pton(AF_INET, host.c_str(), &address.sin_addr) != 1) {
    ::close(fd);
    return Status::invalid_argument(str_cat("[cluster] host: '", host, "' is not an IPv4 address"));
  }
  socklen_t length = sizeof(address);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
    ::close(fd);
    return Status::unavailable(str_cat("cannot bind ", host, ":", port, ": ", std::strerror(errno)));
  }
  ::close(fd);
  return static_cast<int64_t>(ntohs(address.sin_port));
}

// A port `caravan run` picks when the config leaves it 0.
struct PickablePort {
  // The key (unique over the sections: the launcher state records it) and its section.
  std::string key;
  std::string section;
  int64_t* port;
};

// The [cluster] ports, and [learner] rendezvous_port when the run has several learner ranks.
std::vector<PickablePort> pickable_ports(RunConfig& config) {
  std::vector<PickablePort> ports = {{"controller_port", "cluster", &config.cluster.controller_port},
                                     {"weights_sync_port", "cluster", &config.cluster.weights_sync_port}};
  if (config.learner.ranks > 1) ports.push_back({"rendezvous_port", "learner", &config.learner.rendezvous_port});
  return ports;
}

// Sets `*port` to a free port on `host` that no other pickable port of `config` uses. The port is
// released before use, so another process could take it first; binding then fails loudly in the
// worker that needs it.
Status pick_free_port(RunConfig& config, int64_t* port) {
  const auto taken_by_another = [&](int64_t candidate) {
    for (const PickablePort& other : pickable_ports(config)) {
      if (other.port != port && *other.port == candidate) return true;
    }
    return false;
  };
  do {
    CARAVAN_ASSIGN_OR_RETURN(*port, bind_probe(config.cluster.host, 0));
  } while (taken_by_another(*port));
  return Status();
}

}  // namespace

Result<std::vector<std::string>> pick_unset_ports(RunConfig& config) {
  std::vector<std::string> picked;
  for (const auto& [key, section, port] : pickable_ports(config)) {
    if (*port != 0) continue;
    CARAVAN_RETURN_IF_ERROR(pick_free_port(config, port));
    picked.push_back(key);
  }
  return picked;
}

Status repick_taken_ports(RunConfig& config, const std::vector<std::string>& auto_picked,
                                const std::filesystem::path& config_file) {
  for (const auto& [key, section, port] : pickable_ports(config)) {
    if (bind_probe(config.cluster.host, *port).ok()) continue;
    if (std::find(auto_picked.begin(), auto_picked.end(), key) == auto_picked.end()) {
      return Status::failed_precondition(str_cat(config_file.string(), ": [", section, "] ", key, " = ", *port,
                                                 " is in use by another process; it was set in the config, so it is ",
                                                 "not picked again: free it or edit the file"));
    }
    const int64_t before = *port;
    CARAVAN_RETURN_IF_ERROR(pick_free_port(config, port));
    log::info("event=port_repicked key=", section, ".", key, " was=", before, " now=", *port, " reason=in_use");
  }
  return Status();
}

Status write_auto_picked_ports(const core::RunDirectory& run_dir, const std::vector<std::string>& keys) {
  const nlohmann::json state = {{"auto_picked_ports", keys}};
  return core::write_file_atomically(run_dir.root() / kLauncherStateFile, state.dump(2) + "\n");
}

Result<std::vector<std::string>> read_auto_picked_ports(const core::RunDirectory& run_dir) {
  const std::filesystem::path file = run_dir.root() / kLauncherStateFile;
  std::error_code error;
  if (!std::filesystem::exists(file, error)) return std::vector<std::string>();
  CARAVAN_ASSIGN_OR_RETURN(const std::string text, core::read_file(file, "launcher state"));
  const nlohmann::json state = nlohmann::json::parse(text, /*cb=*/nullptr, /*allow_exceptions=*/false);
  const auto keys = state.is_object() ? state.find("auto_picked_ports") : state.end();
  if (keys == state.end() || !keys->is_array() ||
      !std::all_of(keys->begin(), keys->end(), [](const nlohmann::json& key) { return key.is_string(); })) {
    return Status::invalid_argument(str_cat(file.string(), ": key 'auto_picked_ports': expected a list of names"));
  }
  return keys->get<std::vector<std::string>>();
}

} // namespace caravan::apps
