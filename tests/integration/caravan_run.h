// File: tests/integration/caravan_run.h
// What the end-to-end tests share: `caravan run` as a user starts it (its own process group,
// output captured), the processes of a run found through /proc, and the run directory's files.
//
//   CaravanRun run(config, run_dir);
//   ASSERT_TRUE(run.wait(120s).has_value());
//   for (const auto& record : read_jsonl(run_dir / "metrics.jsonl")) ...
#pragma once

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

namespace caravan::testing {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

inline std::string read_file(const fs::path& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

inline std::vector<nlohmann::json> read_jsonl(const fs::path& path) {
  std::vector<nlohmann::json> records;
  std::ifstream in(path);
  for (std::string line; std::getline(in, line);) records.push_back(nlohmann::json::parse(line));
  return records;
}

// Pids of live processes whose command line contains `needle`.
inline std::vector<pid_t> processes_with(const std::string& needle) {
  std::vector<pid_t> pids;
  for (const auto& entry : fs::directory_iterator("/proc")) {
    const std::string name = entry.path().filename();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::string cmdline = read_file(entry.path() / "cmdline");
    std::replace(cmdline.begin(), cmdline.end(), '\0', ' ');
    const std::string stat = read_file(entry.path() / "stat");
    const bool zombie = stat.find(") Z ") != std::string::npos;
    if (!zombie && cmdline.find(needle) != std::string::npos) pids.push_back(std::stoi(name));
  }
  return pids;
}

class CaravanRun {
 public:
  // Starts `caravan run CONFIG --run-dir DIR` with stdout/stderr captured in DIR.log files.
  CaravanRun(const fs::path& config, const fs::path& run_dir)
      : CaravanRun({"run", config.string(), "--run-dir", run_dir.string()}, run_dir.string()) {}

  // `caravan run --resume RUN_DIR`, its output in RUN_DIR.resume.std{out,err}.
  static std::vector<std::string> resume_arguments(const fs::path& run_dir) {
    return {"run", "--resume", run_dir.string()};
  }

  // `caravan ARGUMENTS...` with stdout/stderr captured in LOG_PREFIX.stdout / .stderr.
  CaravanRun(const std::vector<std::string>& arguments, const std::string& log_prefix) {
    out_ = log_prefix + ".stdout";
    err_ = log_prefix + ".stderr";
    pid_ = ::fork();
    if (pid_ == 0) {
      // Its own process group, like a job started from a shell: Ctrl-C reaches the whole group.
      ::setpgid(0, 0);
      std::freopen(out_.c_str(), "w", stdout);
      std::freopen(err_.c_str(), "w", stderr);
      std::vector<char*> argv{const_cast<char*>(CARAVAN_BINARY)};
      for (const std::string& argument : arguments) argv.push_back(const_cast<char*>(argument.c_str()));
      argv.push_back(nullptr);
      ::execv(CARAVAN_BINARY, argv.data());
      ::_exit(127);
    }
  }
  CaravanRun(const CaravanRun&) = delete;
  CaravanRun& operator=(const CaravanRun&) = delete;
  ~CaravanRun() {
    if (pid_ > 0 && !exit_status_) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
  }
  // Exit status, or nullopt if still running after `timeout`.
  std::optional<int> wait(std::chrono::seconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        exit_status_ = status;
        return status;
      }
      std::this_thread::sleep_for(50ms);
    }
    return std::nullopt;
  }
  pid_t pid() const { return pid_; }
  std::string stdout_text() const { return read_file(out_); }
  std::string stderr_text() const { return read_file(err_); }

 private:
  std::string out_, err_;
  pid_t pid_ = -1;
  std::optional<int> exit_status_;
};

// The last RL step recorded in the run's metrics.jsonl (0 before the first).
inline int last_step(const fs::path& run_dir) {
  int step = 0;
  if (!fs::exists(run_dir / "metrics.jsonl")) return 0;
  for (const auto& record : read_jsonl(run_dir / "metrics.jsonl")) {
    if (record.value("phase", "") == "rl") step = std::max(step, record["step"].get<int>());
  }
  return step;
}

// Waits until step `step` is recorded; false after `timeout`.
inline bool await_step(const fs::path& run_dir, int step, std::chrono::seconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (last_step(run_dir) >= step) return true;
    std::this_thread::sleep_for(10ms);
  }
  return false;
}

}  // namespace caravan::testing
