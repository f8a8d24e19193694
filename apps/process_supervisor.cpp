#include "apps/process_supervisor.h"

#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include "core/log.h"

namespace caravan::apps {
namespace {

using Clock = std::chrono::steady_clock;

// The longest sigtimedwait of the supervision loop: how late it notices a deadline at worst.
constexpr std::chrono::milliseconds kTick{200};

sigset_t supervised_signals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGCHLD);
  sigaddset(&set, SIGHUP);
  return set;
}

// fork + execv of `argv` as the child `name`; its stdout and stderr go to `output_fd` when >= 0.
Result<pid_t> start_process(const std::string& name, const std::vector<std::string>& argv, int output_fd) {
  std::vector<char*> args;
  for (const auto& arg : argv) args.push_back(const_cast<char*>(arg.c_str()));
  args.push_back(nullptr);
  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid < 0) return Status::unavailable(str_cat("fork for ", name, " failed: ", std::strerror(errno)));
  if (pid == 0) {
    // Child: die with the supervisor, even if it is SIGKILLed; undo the inherited signal mask.
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(127);
    const sigset_t set = supervised_signals();
    pthread_sigmask(SIG_UNBLOCK, &set, nullptr);
    if (output_fd >= 0 && (::dup2(output_fd, STDOUT_FILENO) < 0 || ::dup2(output_fd, STDERR_FILENO) < 0)) ::_exit(127);
    ::execv(args[0], args.data());
    std::fprintf(stderr, "caravan: exec of %s for %s failed: %s\n", args[0], name.c_str(), std::strerror(errno));
    ::_exit(127);
  }
  return pid;
}

double seconds(std::chrono::milliseconds duration) { return std::chrono::duration<double>(duration).count(); }

}  // namespace

std::string describe_wait_status(int status) {
  if (WIFEXITED(status)) return str_cat("exit code ", WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return str_cat("killed by signal ", WTERMSIG(status), " (", strsignal(WTERMSIG(status)), ")");
  return str_cat("wait status ", status);
}

ProcessSupervisor::ProcessSupervisor(const SupervisorOptions& options) : options_(options) {
  const sigset_t set = supervised_signals();
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

ProcessSupervisor::~ProcessSupervisor() { terminate_all(); }

Status ProcessSupervisor::spawn(const std::string& name, const std::vector<std::string>& argv,
                                const RestartPolicy& restart) {
  CARAVAN_CHECK(find(name) == nullptr, "spawn: a child named ", name, " exists");
  CARAVAN_CHECK(restart.max_restarts >= 0 && restart.backoff.count() >= 0, "spawn: bad restart policy for ", name);
  CARAVAN_ASSIGN_OR_RETURN(const pid_t pid, start_process(name, argv, options_.child_output_fd));
  Child child;
  child.name = name;
  child.argv = argv;
  child.restart = restart;
  child.pid = pid;
  children_.push_back(std::move(child));
  log::info("event=spawned process=", name, " pid=", pid);
  report_running();
  return Status();
}

void ProcessSupervisor::report_running() const {
  if (options_.on_running_changed) {
    options_.on_running_changed(static_cast<int64_t>(running_pids().size()), static_cast<int64_t>(children_.size()));
  }
}

ProcessSupervisor::Child* ProcessSupervisor::find(pid_t pid) {
  for (auto& child : children_) {
    if (child.pid == pid) return &child;
  }
  return nullptr;
}

ProcessSupervisor::Child* ProcessSupervisor::find(const std::string& name) {
  for (auto& child : children_) {
    if (child.name == name) return &child;
  }
  return nullptr;
}

Status ProcessSupervisor::reap(bool restarts_allowed) {
  Status first_failure;
  bool reaped = false;
  while (true) {
    int status = 0;
    const pid_t pid = ::waitpid(-1, &status, WNOHANG);
    if (pid <= 0) break;
    Child* child = find(pid);
    if (child == nullptr) continue;
    reaped = true;
    child->running = false;
    child->status = status;
    if ((WIFEXITED(status) && WEXITSTATUS(status) == 0) || child->stopped_after_run) continue;
    const std::string died = str_cat("process ", child->name, " (pid ", pid, ") died: ", describe_wait_status(status));
    if (restarts_allowed && child->restarts < child->restart.max_restarts) {
      const auto delay = child->restart.backoff * (int64_t{1} << std::min<int64_t>(child->restarts, 30));
      child->restart_at = Clock::now() + delay;
      log::warn("event=process_died process=", child->name, " pid=", pid, " status=\"", describe_wait_status(status),
                "\" action=restart restart=", child->restarts + 1, "/", child->restart.max_restarts,
                " delay_s=", seconds(delay));
      continue;
    }
    if (!first_failure.ok()) continue;
    first_failure = child->restart.max_restarts > 0
                        ? Status::unavailable(str_cat(died, "; restarted ", child->restarts,
                                                      " times already ([supervision] max_restarts = ",
                                                      child->restart.max_restarts, ")"))
                        : Status::unavailable(died);
  }
  if (reaped) report_running();
  return first_failure;
}

Status ProcessSupervisor::start_due_restarts() {
  const auto now = Clock::now();
  for (auto& child : children_) {
    if (!child.restart_at || *child.restart_at > now) continue;
    child.restart_at.reset();
    CARAVAN_ASSIGN_OR_RETURN(child.pid, start_process(child.name, child.argv, options_.child_output_fd));
    child.running = true;
    ++child.restarts;
    log::info("event=restarted process=", child.name, " pid=", child.pid, " restart=", child.restarts, "/",
              child.restart.max_restarts);
    report_running();
  }
  return Status();
}

timespec ProcessSupervisor::next_tick() const {
  auto wait = std::chrono::duration_cast<std::chrono::nanoseconds>(kTick);
  const auto now = Clock::now();
  for (const auto& child : children_) {
    if (child.restart_at) wait = std::min(wait, std::max(std::chrono::nanoseconds(1), *child.restart_at - now));
  }
  return timespec{static_cast<time_t>(wait.count() / 1'000'000'000), static_cast<long>(wait.count() % 1'000'000'000)};
}

void ProcessSupervisor::cancel_restarts() {
  for (auto& child : children_) child.restart_at.reset();
}

void ProcessSupervisor::terminate_all() {
  cancel_restarts();
  bool any = false;
  for (const auto& child : children_) {
    if (child.running) {
      // SIGINT: stop now (a serving worker would keep serving through a first SIGTERM).
      ::kill(child.pid, SIGINT);
      any = true;
    }
  }
  if (!any) return;
  const auto deadline = Clock::now() + options_.kill_grace;
  while (Clock::now() < deadline) {
    (void)reap(/*restarts_allowed=*/false);
    if (running_pids().empty()) return;
    ::usleep(20 * 1000);
  }
  for (const auto& child : children_) {
    if (child.running) {
      log::warn("event=kill process=", child.name, " pid=", child.pid, " reason=\"no exit within grace period\"");
      ::kill(child.pid, SIGKILL);
    }
  }
  for (auto& child : children_) {
    if (child.running && ::waitpid(child.pid, &child.status, 0) == child.pid) child.running = false;
  }
}

Status ProcessSupervisor::wait(const std::string& leader) {
  Child* const lead = find(leader);
  CARAVAN_CHECK(lead != nullptr, "wait: no child named ", leader);
  const sigset_t set = supervised_signals();
  // Set once SIGTERM arrived: the leader is checkpointing; nothing is restarted any more.
  std::optional<Clock::time_point> sigterm_deadline;
  while (true) {
    Status failure = reap(/*restarts_allowed=*/!sigterm_deadline);
    if (!failure.ok()) {
      if (!sigterm_deadline) {
        terminate_all();
        return failure;
      }
      log::warn("event=process_stopped reason=\"", failure.message(), "\" during=sigterm_grace");
    }
    if (!lead->running) break;
    if (sigterm_deadline && Clock::now() >= *sigterm_deadline) {
      log::warn("event=sigterm_grace_expired process=", leader, " grace_s=", seconds(options_.sigterm_grace));
      terminate_all();
      return Status::cancelled(str_cat("stopped by SIGTERM: ", leader, " did not exit within [supervision] ",
                                       "sigterm_grace_s = ", seconds(options_.sigterm_grace), " and was terminated"));
    }
    CARAVAN_RETURN_IF_ERROR(start_due_restarts());
    if (options_.on_tick) options_.on_tick(*this);
    siginfo_t info;
    const timespec tick = next_tick();
    const int signal = ::sigtimedwait(&set, &info, &tick);
    if (signal == SIGHUP) {
      log::info("event=signal signal=", strsignal(signal), " action=\"forwarded to every process (reload)\"");
      for (const pid_t pid : running_pids()) ::kill(pid, SIGHUP);
    } else if (signal == SIGTERM && !sigterm_deadline) {
      log::warn("event=signal signal=", strsignal(signal), " action=\"forwarded to ", leader,
                " (checkpoint and exit)\" grace_s=", seconds(options_.sigterm_grace));
      cancel_restarts();
      ::kill(lead->pid, SIGTERM);
      sigterm_deadline = Clock::now() + options_.sigterm_grace;
    } else if (signal == SIGINT || signal == SIGTERM) {
      log::warn("event=interrupted signal=", strsignal(signal), " action=\"stopping every process\"");
      terminate_all();
      return Status::cancelled(str_cat("interrupted by ", strsignal(signal)));
    }
  }
  if (sigterm_deadline) {
    terminate_all();
    return Status::cancelled(
        str_cat("stopped by SIGTERM: ", leader, " exited within the grace period (", describe_wait_status(lead->status), ")"));
  }
  // The leader finished cleanly: the others were told to shut down and get the grace period.
  // A restarted worker may have connected after that Shutdown: it is stopped now.
  cancel_restarts();
  for (auto& child : children_) {
    if (child.running && child.restarts > 0) {
      log::info("event=stop_restarted_worker process=", child.name, " pid=", child.pid,
                " reason=\"restarted late in the run; it may have missed the Shutdown\"");
      child.stopped_after_run = true;
      ::kill(child.pid, SIGINT);
    }
  }
  const auto deadline = Clock::now() + options_.kill_grace;
  while (!running_pids().empty() && Clock::now() < deadline) {
    Status failure = reap(/*restarts_allowed=*/false);
    if (!failure.ok()) {
      terminate_all();
      return failure;
    }
    ::usleep(20 * 1000);
  }
  std::string stragglers;
  for (const auto& child : children_) {
    if (child.running) stragglers += str_cat(stragglers.empty() ? "" : ", ", child.name);
  }
  terminate_all();
  if (!stragglers.empty()) {
    return Status::unavailable(str_cat("processes did not exit after the run finished: ", stragglers));
  }
  return Status();
}

std::vector<pid_t> ProcessSupervisor::running_pids() const {
  std::vector<pid_t> pids;
  for (const auto& child : children_) {
    if (child.running) pids.push_back(child.pid);
  }
  return pids;
}

bool ProcessSupervisor::running(const std::string& name) const {
  for (const auto& child : children_) {
    if (child.name == name) return child.running;
  }
  return false;
}

int64_t ProcessSupervisor::restarts(const std::string& name) const {
  for (const auto& child : children_) {
    if (child.name == name) return child.restarts;
  }
  return 0;
}

} // namespace caravan::apps
