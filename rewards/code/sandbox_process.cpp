#include "rewards/code/sandbox_process.h"

#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <thread>

namespace caravan::rewards::code {
namespace {

// File descriptor numbers inside the sandboxed program (and bwrap).
constexpr int kReportFd = 3;
constexpr int kInfoFd = 4;
constexpr size_t kInfoCap = 4096;

// Owns one file descriptor.
class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  UniqueFd(UniqueFd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  UniqueFd& operator=(UniqueFd&& other) noexcept {
    reset(std::exchange(other.fd_, -1));
    return *this;
  }
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  ~UniqueFd() { reset(); }

  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  void reset(int fd = -1) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = fd;
  }

 private:
  int fd_ = -1;
};

struct PipeEnds {
  UniqueFd read;
  UniqueFd write;
};

Result<PipeEnds> make_pipe(const char* what) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) {
    return Status::unavailable(str_cat("sandbox: pipe for ", what, ": ", std::strerror(errno)));
  }
  return PipeEnds{UniqueFd(fds[0]), UniqueFd(fds[1])};
}

void set_nonblocking(int fd) { ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK); }

// bwrap arguments that recreate the root's /bin, /sbin and /lib* entries: symlinks (merged /usr)
// stay symlinks, real directories are bound read-only.
void append_root_entries(std::vector<std::string>& args) {
  for (const char* path : {"/bin", "/sbin", "/lib", "/lib32", "/lib64"}) {
    struct stat info {};
    if (::lstat(path, &info) != 0) continue;
    if (S_ISLNK(info.st_mode)) {
      std::array<char, PATH_MAX> target{};
      const ssize_t length = ::readlink(path, target.data(), target.size() - 1);
      if (length <= 0) continue;
      args.insert(args.end(), {"--symlink", std::string(target.data(), static_cast<size_t>(length)), path});
    } else if (S_ISDIR(info.st_mode)) {
      args.insert(args.end(), {"--ro-bind", path, path});
    }
  }
}

std::vector<std::string> bwrap_arguments(const SandboxConfig& config) {
  std::vector<std::string> args = {config.bwrap_path, "--unshare-all", "--die-with-parent",
                                   "--new-session", "--as-pid-1", "--hostname", "sandbox", "--ro-bind", "/usr", "/usr"};
  append_root_entries(args);
  args.insert(args.end(), {"--proc", "/proc", "--dev", "/dev", "--size",
                           std::to_string(config.limits.tmpfs_bytes), "--tmpfs", "/tmp", "--chdir", "/tmp",
                           "--info-fd", std::to_string(kInfoFd), "--"});
  args.insert(args.end(), config.command.begin(), config.command.end());
  return args;
}

std::vector<char*> c_strings(std::vector<std::string>& strings) {
  std::vector<char*> pointers;
  pointers.reserve(strings.size() + 1);
  for (std::string& s : strings) pointers.push_back(s.data());
  pointers.push_back(nullptr);
  return pointers;
}

// Runs in the forked child: only async-signal-safe calls until execve.
[[noreturn]] void exec_bwrap(const std::array<int, 5>& child_fds, const SandboxLimits& limits,
                             bool switch_uid, uid_t uid, pid_t parent, char* const* argv, char* const* envp) {
  ::setsid();
  sigset_t empty;
  ::sigemptyset(&empty);
  ::sigprocmask(SIG_SETMASK, &empty, nullptr);
  ::signal(SIGPIPE, SIG_DFL);
  // Move the ends out of the way first, so that dup2 into 0..4 never clobbers a source.
  std::array<int, 5> high{};
  for (size_t i = 0; i < child_fds.size(); ++i) {
    high[i] = ::fcntl(child_fds[i], F_DUPFD, 16);
    if (high[i] < 0) ::_exit(127);
  }
  for (size_t i = 0; i < high.size(); ++i) {
    if (::dup2(high[i], static_cast<int>(i)) < 0) ::_exit(127);
  }
  ::syscall(SYS_close_range, 5U, ~0U, 0U);
  const auto limit = [](int resource, rlim_t soft, rlim_t hard) {
    const struct rlimit r = {soft, hard};
    if (::setrlimit(resource, &r) != 0) ::_exit(126);
  };
  // CPU: SIGXCPU at the soft limit (reported as such), SIGKILL one second later.
  const auto cpu = static_cast<rlim_t>(limits.cpu_seconds);
  limit(RLIMIT_CPU, cpu, cpu + 1);
  limit(RLIMIT_AS, static_cast<rlim_t>(limits.address_space_bytes), static_cast<rlim_t>(limits.address_space_bytes));
  limit(RLIMIT_FSIZE, static_cast<rlim_t>(limits.file_size_bytes), static_cast<rlim_t>(limits.file_size_bytes));
  limit(RLIMIT_NOFILE, static_cast<rlim_t>(limits.open_files), static_cast<rlim_t>(limits.open_files));
  limit(RLIMIT_CORE, 0, 0);
  if (switch_uid) {
    limit(RLIMIT_NPROC, static_cast<rlim_t>(limits.processes), static_cast<rlim_t>(limits.processes));
    if (::setgroups(0, nullptr) != 0 || ::setgid(uid) != 0 || ::setuid(uid) != 0) ::_exit(126);
  }
  // After the uid change, which clears the parent-death signal.
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (::getppid() != parent) ::_exit(127);
  ::execve(argv[0], argv, envp);
  ::_exit(127);
}

// Reads what is available from `fd` into `out` (at most `cap` bytes kept). Returns false at EOF
// or on a hard error.
bool drain(int fd, std::string& out, size_t cap, bool& truncated) {
  std::array<char, 65536> buffer;
  while (true) {
    const ssize_t n = ::read(fd, buffer.data(), buffer.size());
    if (n > 0) {
      const size_t room = cap > out.size() ? cap - out.size() : 0;
      const size_t keep = std::min(room, static_cast<size_t>(n));
      out.append(buffer.data(), keep);
      if (keep < static_cast<size_t>(n)) truncated = true;
      continue;
    }
    if (n == 0) return false;
    if (errno == EINTR) continue;
    return errno == EAGAIN || errno == EWOULDBLOCK;
  }
}

int pidfd_open(pid_t pid) { return static_cast<int>(::syscall(SYS_pidfd_open, pid, 0U)); }
int pidfd_send_signal(int pidfd, int sig) {
  return static_cast<int>(::syscall(SYS_pidfd_send_signal, pidfd, sig, nullptr, 0U));
}

int exit_code_of(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  return -1;
}

}  // namespace

struct SandboxProcess::Fds {
  UniqueFd stdin_socket;
  UniqueFd stdout_read;
  UniqueFd stderr_read;
  UniqueFd report_read;
  UniqueFd info_read;
  // pidfd of the sandbox's PID 1, once known.
  UniqueFd sandbox_pidfd;
};

Result<std::unique_ptr<SandboxProcess>> SandboxProcess::start(const SandboxConfig& config) {
  if (config.command.empty()) return Status::invalid_argument("sandbox: command is empty");
  int sockets[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sockets) != 0) {
    return Status::unavailable(str_cat("sandbox: socketpair for stdin: ", std::strerror(errno)));
  }
  UniqueFd stdin_parent(sockets[0]);
  UniqueFd stdin_child(sockets[1]);
  CARAVAN_ASSIGN_OR_RETURN(PipeEnds out, make_pipe("stdout"));
  CARAVAN_ASSIGN_OR_RETURN(PipeEnds err, make_pipe("stderr"));
  CARAVAN_ASSIGN_OR_RETURN(PipeEnds report, make_pipe("report"));
  CARAVAN_ASSIGN_OR_RETURN(PipeEnds info, make_pipe("info"));

  std::vector<std::string> args = bwrap_arguments(config);
  std::vector<char*> argv = c_strings(args);
  std::vector<std::string> env = {"PATH=/usr/bin:/bin", "LANG=C.UTF-8"};
  std::vector<char*> envp = c_strings(env);
  const bool switch_uid = ::geteuid() == 0 && config.uid.has_value();
  const uid_t uid = config.uid.value_or(0);
  const std::array<int, 5> child_fds = {stdin_child.get(), out.write.get(), err.write.get(), report.write.get(),
                                        info.write.get()};
  const pid_t parent = ::getpid();
  // TODO(perf): in a process with a large address space (LibTorch) fork() copies page tables;
  // clone(CLONE_VM | CLONE_VFORK) with raw syscalls in the child would avoid that.
  const pid_t pid = ::fork();
  if (pid < 0) return Status::unavailable(str_cat("sandbox: fork: ", std::strerror(errno)));
  if (pid == 0) exec_bwrap(child_fds, config.limits, switch_uid, uid, parent, argv.data(), envp.data());

  auto fds = std::make_unique<Fds>();
  fds->stdin_socket = std::move(stdin_parent);
  fds->stdout_read = std::move(out.read);
  fds->stderr_read = std::move(err.read);
  fds->report_read = std::move(report.read);
  fds->info_read = std::move(info.read);
  for (int fd : {fds->stdin_socket.get(), fds->stdout_read.get(), fds->stderr_read.get(), fds->report_read.get(),
                 fds->info_read.get()}) {
    set_nonblocking(fd);
  }
  return std::unique_ptr<SandboxProcess>(new SandboxProcess(config, pid, std::move(fds)));
}

SandboxProcess::SandboxProcess(const SandboxConfig& config, pid_t pid, std::unique_ptr<Fds> fds)
    : output_cap_bytes_(config.output_cap_bytes), pid_(pid), fds_(std::move(fds)) {}

SandboxProcess::~SandboxProcess() { tear_down(); }

void SandboxProcess::read_sandbox_pid(int wait_ms) {
  if (sandbox_pid_ != 0 || !fds_->info_read.valid()) return;
  const Clock::time_point until = Clock::now() + std::chrono::milliseconds(wait_ms);
  while (true) {
    bool truncated = false;
    const bool open = drain(fds_->info_read.get(), info_bytes_, kInfoCap, truncated);
    const size_t key = info_bytes_.find("\"child-pid\"");
    const size_t colon = key == std::string::npos ? key : info_bytes_.find(':', key);
    if (colon != std::string::npos) {
      const char* begin = info_bytes_.c_str() + colon + 1;
      char* end = nullptr;
      const long value = std::strtol(begin, &end, 10);
      if (end != begin && value > 0 && (*end == '\n' || *end == ' ' || *end == ',' || *end == '}')) {
        sandbox_pid_ = static_cast<pid_t>(value);
        // info_read stays open: bwrap may still be writing the rest of its JSON, and a closed
        // pipe would kill it with SIGPIPE.
        fds_->sandbox_pidfd.reset(pidfd_open(sandbox_pid_));
        return;
      }
    }
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - Clock::now()).count();
    if (!open || left <= 0) return;
    struct pollfd p = {fds_->info_read.get(), POLLIN, 0};
    ::poll(&p, 1, static_cast<int>(left));
  }
}

int SandboxProcess::tear_down() {
  if (exit_code_.has_value()) return *exit_code_;
  // Killing PID 1 of the sandbox (the program, bwrap --as-pid-1) makes the kernel kill its
  // whole PID namespace. This is done even when bwrap already exited: bwrap's --die-with-parent
  // is not relied upon, since a credential change clears the parent-death signal.
  read_sandbox_pid(/*wait_ms=*/100);
  if (fds_->sandbox_pidfd.valid()) pidfd_send_signal(fds_->sandbox_pidfd.get(), SIGKILL);
  int status = 0;
  pid_t reaped = ::waitpid(pid_, &status, WNOHANG);
  if (reaped == 0) {
    // bwrap exits once its PID 1 is gone; without a known PID 1, kill bwrap itself.
    if (!fds_->sandbox_pidfd.valid()) ::kill(-pid_, SIGKILL);
    const Clock::time_point until = Clock::now() + std::chrono::seconds(1);
    while ((reaped = ::waitpid(pid_, &status, WNOHANG)) == 0 && Clock::now() < until) {
      std::this_thread::sleep_for(std::chrono::microseconds(200));
    }
    if (reaped == 0) {
      ::kill(-pid_, SIGKILL);
      reaped = ::waitpid(pid_, &status, 0);
    }
  }
  exit_code_ = reaped == pid_ ? exit_code_of(status) : -1;
  fds_ = std::make_unique<Fds>();
  return *exit_code_;
}

SandboxOutcome SandboxProcess::run(std::string_view input, Clock::time_point deadline) {
  SandboxOutcome outcome;
  CARAVAN_CHECK(!ran_, "SandboxProcess::run called twice");
  ran_ = true;
  size_t written = 0;
  if (input.empty()) ::shutdown(fds_->stdin_socket.get(), SHUT_WR);
  bool stdout_open = true, stderr_open = true, report_open = true;
  while (stdout_open || stderr_open || report_open) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    if (left <= 0) {
      outcome.timed_out = true;
      break;
    }
    std::array<struct pollfd, 5> polled{};
    polled[0] = {stdout_open ? fds_->stdout_read.get() : -1, POLLIN, 0};
    polled[1] = {stderr_open ? fds_->stderr_read.get() : -1, POLLIN, 0};
    polled[2] = {report_open ? fds_->report_read.get() : -1, POLLIN, 0};
    polled[3] = {written < input.size() ? fds_->stdin_socket.get() : -1, POLLOUT, 0};
    polled[4] = {sandbox_pid_ == 0 && fds_->info_read.valid() ? fds_->info_read.get() : -1, POLLIN, 0};
    const int ready = ::poll(polled.data(), polled.size(), static_cast<int>(std::min<long long>(left, 1000)));
    if (ready < 0) {
      if (errno == EINTR) continue;
      outcome.host_error = str_cat("poll: ", std::strerror(errno));
      break;
    }
    if (polled[0].revents != 0) stdout_open = drain(polled[0].fd, outcome.stdout_bytes, output_cap_bytes_, outcome.stdout_truncated);
    if (polled[1].revents != 0) stderr_open = drain(polled[1].fd, outcome.stderr_bytes, output_cap_bytes_, outcome.stderr_truncated);
    if (polled[2].revents != 0) report_open = drain(polled[2].fd, outcome.report_bytes, output_cap_bytes_, outcome.report_truncated);
    if (polled[3].revents != 0) {
      const ssize_t n = ::send(polled[3].fd, input.data() + written, input.size() - written, MSG_NOSIGNAL);
      if (n > 0) written += static_cast<size_t>(n);
      if (n < 0 && errno != EAGAIN && errno != EINTR) written = input.size();  // the reader is gone
      if (written == input.size()) ::shutdown(polled[3].fd, SHUT_WR);
    }
    if (polled[4].revents != 0) read_sandbox_pid(/*wait_ms=*/0);
  }
  outcome.exit_code = tear_down();
  return outcome;
}

Status check_sandbox(const std::string& bwrap_path) {
  if (::access(bwrap_path.c_str(), X_OK) != 0) {
    return Status::unavailable(str_cat(bwrap_path, ": ", std::strerror(errno),
                                       " (is bubblewrap installed? scripts/setup.sh installs it)"));
  }
  SandboxConfig config;
  config.bwrap_path = bwrap_path;
  config.command = {"/usr/bin/true"};
  auto sandbox = SandboxProcess::start(config);
  if (!sandbox.ok()) return Status::unavailable(str_cat("cannot start a sandbox: ", sandbox.status().message()));
  const SandboxOutcome outcome = (*sandbox)->run("", Clock::now() + std::chrono::seconds(5));
  if (outcome.timed_out) return Status::unavailable("a sandbox running /usr/bin/true did not finish within 5 s");
  if (outcome.exit_code != 0) {
    // bwrap names the cause, e.g. "No permissions to create new namespace" without user namespaces.
    return Status::unavailable(str_cat("a sandbox running /usr/bin/true exited with ", outcome.exit_code, ": ",
                                       outcome.host_error.empty() ? outcome.stderr_bytes : outcome.host_error));
  }
  return Status();
}

} // namespace caravan::rewards::code
