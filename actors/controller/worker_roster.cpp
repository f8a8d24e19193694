#include "actors/controller/worker_roster.h"

#include <algorithm>

#include "core/status.h"
#include "core/worker_session.h"

namespace caravan::controller {

WorkerRoster::WorkerRoster(const std::vector<std::string>& workers, std::chrono::milliseconds heartbeat_timeout)
    : heartbeat_timeout_(heartbeat_timeout) {
  for (proto::Role role : {proto::Role::LEARNER, proto::Role::ROLLOUT, proto::Role::VERIFIER}) {
    const std::string prefix = str_cat(core::role_name(role), "-");
    for (const std::string& name : workers) {
      if (name.rfind(prefix, 0) != 0) continue;
      WorkerState state;
      state.role = role;
      state.rank = static_cast<uint32_t>(std::stoul(name.substr(prefix.size())));
      workers_.emplace(name, state);
    }
  }
  CARAVAN_CHECK(workers_.size() == workers.size(), "worker names must be <role>-<rank>");
}

WorkerRoster::Heard WorkerRoster::on_message(const std::string& peer, const proto::Envelope::Reader& message,
                                             Clock::time_point now) {
  auto it = workers_.find(peer);
  if (it == workers_.end()) return Heard::kUnknown;
  WorkerState& worker = it->second;
  if (message.isHello()) {
    const auto hello = message.getHello();
    worker.alive = true;
    ++worker.incarnation;
    worker.pid = hello.getPid();
    worker.host = hello.getHost();
    worker.service_port = hello.getServicePort();
    worker.last_heard = now;
    worker.policy_version = 0;
    return Heard::kJoined;
  }
  if (!worker.alive) return Heard::kDead;
  worker.last_heard = now;
  if (message.isHeartbeat()) worker.policy_version = message.getHeartbeat().getPolicyVersion();
  return Heard::kAlive;
}

std::vector<std::string> WorkerRoster::expire(Clock::time_point now) {
  std::vector<std::string> lost;
  for (auto& [name, worker] : workers_) {
    if (worker.alive && now - worker.last_heard > heartbeat_timeout_) {
      worker.alive = false;
      lost.push_back(name);
    }
  }
  return lost;
}

bool WorkerRoster::mark_dead(const std::string& worker) {
  auto it = workers_.find(worker);
  if (it == workers_.end() || !it->second.alive) return false;
  it->second.alive = false;
  return true;
}

bool WorkerRoster::alive(const std::string& worker) const {
  auto it = workers_.find(worker);
  return it != workers_.end() && it->second.alive;
}

const WorkerState& WorkerRoster::state(const std::string& worker) const {
  auto it = workers_.find(worker);
  CARAVAN_CHECK(it != workers_.end(), "unknown worker ", worker);
  return it->second;
}

std::vector<std::string> WorkerRoster::with_role(proto::Role role) const {
  std::vector<std::pair<uint32_t, std::string>> ranked;
  for (const auto& [name, worker] : workers_) {
    if (worker.role == role) ranked.emplace_back(worker.rank, name);
  }
  std::sort(ranked.begin(), ranked.end());
  std::vector<std::string> names;
  for (auto& [rank, name] : ranked) names.push_back(std::move(name));
  return names;
}

std::vector<std::string> WorkerRoster::alive_with_role(proto::Role role) const {
  std::vector<std::string> names = with_role(role);
  std::erase_if(names, [&](const std::string& name) { return !alive(name); });
  return names;
}

std::vector<std::string> WorkerRoster::never_joined() const {
  std::vector<std::string> names;
  for (const auto& [name, worker] : workers_) {
    if (worker.incarnation == 0) names.push_back(name);
  }
  return names;
}

uint64_t WorkerRoster::restarts() const {
  uint64_t restarts = 0;
  for (const auto& [name, worker] : workers_) restarts += worker.incarnation > 1 ? worker.incarnation - 1 : 0;
  return restarts;
}

} // namespace caravan::controller
