// File: rewards/code/sandbox_process.h
// One untrusted program run inside a bubblewrap sandbox: fork + execve of /usr/bin/bwrap (no
// shell), resource limits set in the child between fork and exec, pipes read with poll(), a
// wall-clock deadline after which everything in the sandbox is killed.
//
// The sandbox (see SandboxProcess::start for the exact bwrap arguments):
//  - own user, PID, network, IPC, UTS and cgroup namespaces (--unshare-all): no network, not
//    even the host's loopback; processes of the host are invisible and cannot be signalled;
//    the program is PID 1 of its namespace (--as-pid-1), so bwrap reaps it itself;
//  - read-only /usr plus the /bin, /lib* entries of the root (symlinks stay symlinks); no /etc,
//    /root, /home or /work; a fresh /proc and a minimal /dev; a size-capped tmpfs at /tmp
//    (the working directory); --new-session, --die-with-parent; an environment of only
//    PATH and LANG=C.UTF-8;
//  - rlimits CPU seconds, address space, file size, open files and (when started as root, under
//    a dedicated unprivileged uid) process count;
//  - fd 3 of the program is a report pipe read by the host next to stdout and stderr.
//
// Teardown kills the sandbox's PID 1 (reported by bwrap --info-fd); the kernel then kills every
// process of the sandbox's PID namespace, daemons included, before bwrap itself exits and is
// reaped. Nothing of a sandbox outlives its SandboxProcess.
//
//   SandboxConfig config;
//   config.command = {"/usr/bin/python3", "-S", "-I", "-c", "print(input())"};
//   auto sandbox = SandboxProcess::start(config);
//   if (!sandbox.ok()) return sandbox.status();
//   SandboxOutcome outcome = (*sandbox)->run("hello\n", Clock::now() + std::chrono::seconds(2));
//   // outcome.stdout_bytes == "hello\n"
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace caravan::rewards::code {

using Clock = std::chrono::steady_clock;

// Per-process resource limits applied with setrlimit before exec of bwrap (inherited by every
// process of the sandbox). A plain value.
struct SandboxLimits {
  // RLIMIT_CPU, seconds of CPU time per process (SIGXCPU; SIGKILL one second later). Range: >= 1.
  int cpu_seconds = 10;
  // RLIMIT_AS, bytes of virtual address space per process. Range: >= 64 MiB (python needs ~30).
  uint64_t address_space_bytes = uint64_t{1} << 30;
  // RLIMIT_FSIZE, largest file a process may write, bytes. Range: >= 0.
  uint64_t file_size_bytes = uint64_t{16} << 20;
  // RLIMIT_NOFILE, open file descriptors per process. Range: >= 16.
  int open_files = 64;
  // RLIMIT_NPROC, processes of the sandbox's uid; enforced only when the host runs as root
  // (then every sandbox runs under its own unprivileged uid, see SandboxConfig::uid). Range: >= 8
  // (bwrap and the harness need 4).
  int processes = 32;
  // Size of the tmpfs mounted at /tmp, bytes. Range: >= 1 MiB.
  uint64_t tmpfs_bytes = uint64_t{16} << 20;
};

// What to run and how. A plain value.
struct SandboxConfig {
  std::string bwrap_path = "/usr/bin/bwrap";
  // Program and arguments run inside the sandbox; command[0] must be an absolute path under a
  // directory the sandbox mounts (/usr, /bin). Must not be empty.
  std::vector<std::string> command;
  SandboxLimits limits;
  // Bytes kept of each of stdout, stderr and the fd-3 report; the rest is read and discarded so
  // the program never blocks on a full pipe. Range: >= 0.
  size_t output_cap_bytes = size_t{1} << 20;
  // When set and the host runs as root: the host uid the sandbox runs as (setuid before exec of
  // bwrap). Must be a uid no other live process uses, so RLIMIT_NPROC counts this sandbox alone.
  std::optional<uid_t> uid;
};

// What a run produced. A plain value.
struct SandboxOutcome {
  // The deadline passed and the sandbox was killed.
  bool timed_out = false;
  // Exit code of bwrap (that of the program; 128 + signal when the program was killed), or -1
  // when bwrap was killed by the host's teardown.
  int exit_code = -1;
  std::string stdout_bytes;
  std::string stderr_bytes;
  // Bytes the program wrote to fd 3.
  std::string report_bytes;
  // True when a stream exceeded SandboxConfig::output_cap_bytes (the excess was discarded).
  bool stdout_truncated = false;
  bool stderr_truncated = false;
  bool report_truncated = false;
  // Host-side failure (poll or pipe error) that ended the run early; empty when none.
  std::string host_error;
};

// A started sandbox. Owner thread only (one run() per object); distinct objects may be used
// from different threads at once. bwrap gets SIGKILL when the thread that called start() exits
// (PR_SET_PDEATHSIG), so a crashed host leaves no sandbox behind; that thread must outlive the
// object's use. Not copyable, not movable: hold it by unique_ptr.
class SandboxProcess {
 public:
  // Starts bwrap with `config.command`; the program runs at once and blocks when it reads its
  // stdin, which run() supplies. kInvalidArgument for an empty command, kUnavailable when a
  // pipe or fork fails (a missing bwrap shows up later as exit code 1 with bwrap's message on
  // stderr, since the exec happens in the child).
  static Result<std::unique_ptr<SandboxProcess>> start(const SandboxConfig& config);

  SandboxProcess(const SandboxProcess&) = delete;
  SandboxProcess& operator=(const SandboxProcess&) = delete;
  // Kills and reaps the sandbox if it is still running. Blocks at most ~1 s.
  ~SandboxProcess();

  // Writes `input` to the program's stdin and then closes it, collects its outputs until the
  // program exits and its pipes close or until `deadline`, whichever comes first, then tears
  // the sandbox down. Returns within ~100 ms after `deadline` plus teardown. Call at most once.
  SandboxOutcome run(std::string_view input, Clock::time_point deadline);

  // Host pid of bwrap (the sandbox's monitor process).
  pid_t pid() const { return pid_; }

 private:
  struct Fds;
  SandboxProcess(const SandboxConfig& config, pid_t pid, std::unique_ptr<Fds> fds);
  // Kills the sandbox's PID 1 (or bwrap's process group if that pid is unknown) and reaps bwrap.
  // Returns bwrap's exit code, or -1 when it was killed. Idempotent.
  int tear_down();
  // Parses bwrap's --info-fd JSON for "child-pid" if not done yet; waits up to `wait_ms`.
  void read_sandbox_pid(int wait_ms);

  size_t output_cap_bytes_;
  pid_t pid_;
  // Host pid of the sandbox's PID 1; 0 while unknown.
  pid_t sandbox_pid_ = 0;
  std::string info_bytes_;
  std::optional<int> exit_code_;
  std::unique_ptr<Fds> fds_;
  bool ran_ = false;
};

// Whether bwrap can create a sandbox on this host: runs `bwrap ... /usr/bin/true` once.
// kUnavailable says why not (bwrap missing, no user namespaces: bwrap's own message).
Status check_sandbox(const std::string& bwrap_path = "/usr/bin/bwrap");

} // namespace caravan::rewards::code
