// File: apps/process_supervisor.h
// Starts the processes of a run as children and watches them. Children die with the
// supervisor (PR_SET_PDEATHSIG), so none is ever orphaned.
//   - A child spawned with a RestartPolicy (rollout actors, verifiers) that exits non-zero or
//     is killed is started again with the same argv after a back-off that doubles with each
//     restart, at most max_restarts times; one more failure fails the run, naming it.
//   - Any other child (controller, learner) exiting non-zero fails the run at once.
//   - When the run fails, or on SIGINT, every other child is stopped (SIGINT, then SIGKILL
//     after kill_grace) and the reason names the process.
//   - SIGTERM (what Slurm and Kubernetes send) goes to the leader only, which checkpoints and
//     exits; the rest are terminated once it has exited or sigterm_grace has passed. A second
//     SIGTERM or a SIGINT then terminates everything at once.
//   - SIGHUP is forwarded to every child (each reloads what it can, e.g. the reward config).
//
//   ProcessSupervisor supervisor({.kill_grace = 10s, .sigterm_grace = 120s});
//   CARAVAN_RETURN_IF_ERROR(supervisor.spawn("controller-0", {"/proc/self/exe", "worker", ...}));
//   CARAVAN_RETURN_IF_ERROR(supervisor.spawn("rollout-0", {...}, {.max_restarts = 3, .backoff = 1s}));
//   Status outcome = supervisor.wait("controller-0");  // ok when "controller-0" exits 0
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "core/status.h"

namespace caravan::apps {

class ProcessSupervisor;

struct SupervisorOptions {
  // Between SIGTERM and SIGKILL when the supervisor terminates children, and how long the other
  // children get to exit by themselves after the leader finished cleanly. > 0.
  std::chrono::milliseconds kill_grace{std::chrono::seconds(10)};
  // On SIGTERM: how long the leader gets to checkpoint and exit before the rest are terminated. > 0.
  std::chrono::milliseconds sigterm_grace{std::chrono::seconds(120)};
  // >= 0: every child's stdout and stderr go to this descriptor (e.g. a pipe the launcher's
  // terminal view reads); -1: children share the supervisor's.
  int child_output_fd = -1;
  // Called on the owner thread whenever the number of running children changes, with that
  // number and the number of children spawned. Optional.
  std::function<void(int64_t running, int64_t spawned)> on_running_changed;
  // Optional: called by wait() on the owner thread at every turn of its loop (at least every
  // 200 ms) while the leader runs, with the supervisor, e.g. to publish the children's state.
  std::function<void(const ProcessSupervisor&)> on_tick = {};
};

// How a child that fails is restarted. The default: never.
struct RestartPolicy {
  // Restarts of this child over the supervisor's life, >= 0.
  int64_t max_restarts = 0;
  // Delay before the first restart; doubled for each further one. >= 0.
  std::chrono::milliseconds backoff{0};
};

// Owner thread only. Create it before any other thread starts: the constructor blocks
// SIGINT, SIGTERM, SIGCHLD and SIGHUP in the calling thread so wait() can receive them
// synchronously (threads created later inherit the mask).
class ProcessSupervisor {
 public:
  explicit ProcessSupervisor(const SupervisorOptions& options);
  ProcessSupervisor(const ProcessSupervisor&) = delete;
  ProcessSupervisor& operator=(const ProcessSupervisor&) = delete;
  // Kills and reaps whatever still runs.
  ~ProcessSupervisor();

  // fork + execv(argv[0], argv); `name` must be unique. kUnavailable if fork fails.
  Status spawn(const std::string& name, const std::vector<std::string>& argv, const RestartPolicy& restart = {});

  // Supervises the children until `leader` exits, restarting failed ones per their policy.
  // Ok when the leader exits 0 and every other child then exits 0 within kill_grace
  // (stragglers are killed and reported). kUnavailable naming the child that failed beyond its
  // restarts (or at all, without a policy); kCancelled on SIGINT, and on SIGTERM once the
  // leader has exited or sigterm_grace has passed (the message says which). In every error
  // case all remaining children are terminated before returning. Call once.
  Status wait(const std::string& leader);

  // Pids of the children running now (for tests and diagnostics).
  std::vector<pid_t> running_pids() const;
  // Times the child `name` was restarted so far (0 for an unknown name).
  int64_t restarts(const std::string& name) const;
  // Whether the child `name` runs now (false for an unknown name, or while a restart is due).
  bool running(const std::string& name) const;

 private:
  struct Child {
    std::string name;
    std::vector<std::string> argv;
    RestartPolicy restart;
    pid_t pid = -1;
    bool running = true;
    int status = 0;
    int64_t restarts = 0;
    // A restarted child still running when the leader finished: it may have connected after the
    // leader's Shutdown went out, so it is stopped and its exit status is not a failure.
    bool stopped_after_run = false;
    // Set while a restart is scheduled.
    std::optional<std::chrono::steady_clock::time_point> restart_at;
  };
  // Reaps every exited child without blocking and schedules restarts when `restarts_allowed`;
  // returns the first failure that ends the run, if any.
  Status reap(bool restarts_allowed);
  // Starts the children whose restart is due.
  Status start_due_restarts();
  // The wait of sigtimedwait: until the next scheduled restart, at most a short tick.
  timespec next_tick() const;
  void cancel_restarts();
  void terminate_all();
  // Tells options_.on_running_changed the current counts.
  void report_running() const;
  Child* find(pid_t pid);
  Child* find(const std::string& name);

  SupervisorOptions options_;
  std::vector<Child> children_;
};

// "exit code 3" / "killed by signal 9 (Killed)".
std::string describe_wait_status(int status);

} // namespace caravan::apps
