// File: tests/weights_sync/peer_process.h
// A child process driven through its stdin and stdout, which a test can stop or kill: here the
// weight-sync peer (weight_sync_peer.cpp), so that a member of a group really dies mid-sync.
//
//   PeerProcess peer({kPeerPath, "127.0.0.1", "29500", "2000", "7"});
//   peer.send("sync 1 2 3 5");
//   std::optional<std::string> line = peer.read_line(10s);  // "entering 1"
//   peer.kill();
#pragma once

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include <gtest/gtest.h>

extern char** environ;

namespace caravan::wsync::testing {

// Non-copyable; the destructor kills the child if it still runs and reaps it.
class PeerProcess {
 public:
  // Starts argv[0] with `argv`; a failure to start is a test failure (running() is then false).
  explicit PeerProcess(const std::vector<std::string>& argv) {
    int input[2];
    int output[2];
    EXPECT_EQ(::pipe2(input, O_CLOEXEC), 0);
    EXPECT_EQ(::pipe2(output, O_CLOEXEC), 0);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, input[0], STDIN_FILENO);
    posix_spawn_file_actions_adddup2(&actions, output[1], STDOUT_FILENO);
    std::vector<char*> args;
    for (const std::string& arg : argv) args.push_back(const_cast<char*>(arg.c_str()));
    args.push_back(nullptr);
    const int spawned = ::posix_spawn(&pid_, args[0], &actions, nullptr, args.data(), environ);
    EXPECT_EQ(spawned, 0) << "cannot start " << argv[0];
    if (spawned != 0) pid_ = -1;
    posix_spawn_file_actions_destroy(&actions);
    ::close(input[0]);
    ::close(output[1]);
    stdin_ = input[1];
    stdout_ = output[0];
  }
  PeerProcess(const PeerProcess&) = delete;
  PeerProcess& operator=(const PeerProcess&) = delete;
  ~PeerProcess() {
    kill();
    ::close(stdin_);
    ::close(stdout_);
  }

  bool running() const { return pid_ > 0; }

  // Writes `line` and a newline to the child's stdin.
  void send(const std::string& line) {
    const std::string text = line + "\n";
    EXPECT_EQ(::write(stdin_, text.data(), text.size()), static_cast<ssize_t>(text.size()));
  }

  // The child's next line of output (without the newline), or nullopt when none comes within
  // `timeout` or the child closed its stdout.
  std::optional<std::string> read_line(std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (true) {
      if (const size_t end = buffer_.find('\n'); end != std::string::npos) {
        std::string line = buffer_.substr(0, end);
        buffer_.erase(0, end + 1);
        return line;
      }
      const auto left =
          std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      if (left <= std::chrono::milliseconds::zero()) return std::nullopt;
      pollfd readable{.fd = stdout_, .events = POLLIN, .revents = 0};
      if (::poll(&readable, 1, static_cast<int>(left.count())) <= 0) continue;
      char chunk[256];
      const ssize_t got = ::read(stdout_, chunk, sizeof(chunk));
      if (got <= 0) return std::nullopt;
      buffer_.append(chunk, static_cast<size_t>(got));
    }
  }

  // Sends `signal` to the child (SIGSTOP freezes it; SIGCONT resumes it).
  void signal(int signal) {
    if (running()) {
      EXPECT_EQ(::kill(pid_, signal), 0);
    }
  }

  // SIGKILL, then waits until the child is gone: its sockets are closed when this returns.
  void kill() {
    if (!running()) return;
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }

 private:
  pid_t pid_ = -1;
  int stdin_ = -1;
  int stdout_ = -1;
  std::string buffer_;
};

} // namespace caravan::wsync::testing
