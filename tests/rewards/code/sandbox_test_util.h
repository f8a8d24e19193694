// File: tests/rewards/code/sandbox_test_util.h
// Shared set-up of the code-verifier tests: short deadlines, small pools, a uid range of their
// own per test process (tests run in parallel under ctest), and host-process inspection.
#pragma once

#include <dirent.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <sstream>
#include <string>

#include <gtest/gtest.h>

#include "rewards/code/code_verifier.h"
#include "rewards/code/sandbox_process.h"

namespace caravan::rewards::code::testing {

// First of 64 sandbox uids reserved for this test process.
inline uid_t test_uid_first() { return static_cast<uid_t>(210000 + (::getpid() % 2000) * 64); }

inline CodeVerifierOptions fast_options(int warm_pool_size = 2) {
  CodeVerifierOptions options;
  options.deadline = std::chrono::seconds(2);
  options.limits.cpu_seconds = 3;
  options.warm_pool_size = warm_pool_size;
  options.sandbox_uid_first = test_uid_first();
  options.sandbox_uid_count = 32;
  return options;
}

// A completion holding `program` in a fenced python block.
inline std::string fenced(const std::string& program) { return "```python\n" + program + "\n```\n"; }

// Number of host processes whose command line contains `marker`.
inline int processes_with_marker(const std::string& marker) {
  int count = 0;
  DIR* proc = ::opendir("/proc");
  if (proc == nullptr) return -1;
  while (dirent* entry = ::readdir(proc)) {
    if (entry->d_name[0] < '0' || entry->d_name[0] > '9') continue;
    std::ifstream file(std::string("/proc/") + entry->d_name + "/cmdline", std::ios::binary);
    std::stringstream text;
    text << file.rdbuf();
    if (text.str().find(marker) != std::string::npos) ++count;
  }
  ::closedir(proc);
  return count;
}

// Number of host processes owned by `uid`.
inline int processes_of_uid(uid_t uid) {
  int count = 0;
  DIR* proc = ::opendir("/proc");
  if (proc == nullptr) return -1;
  while (dirent* entry = ::readdir(proc)) {
    if (entry->d_name[0] < '0' || entry->d_name[0] > '9') continue;
    std::ifstream file(std::string("/proc/") + entry->d_name + "/status");
    std::string line;
    while (std::getline(file, line)) {
      if (line.rfind("Uid:", 0) == 0) {
        std::istringstream fields(line.substr(4));
        uid_t real = 0;
        fields >> real;
        if (real == uid) ++count;
        break;
      }
    }
  }
  ::closedir(proc);
  return count;
}

// check_sandbox(), run once per process.
inline const Status& sandbox_status() {
  static const Status status = check_sandbox();
  return status;
}

// A sandbox test cannot run without a sandbox. It then skips, naming the cause, and the skip is
// not silent: scripts/test.sh lists every skipped test, and under CI=true fails the run for one
// not in tests/skip_allowlist.txt (none of these is). scripts/setup.sh installs bubblewrap; CI
// runs as root, where bwrap needs no unprivileged user namespaces.
#define CARAVAN_REQUIRE_SANDBOX()                                                                 \
  do {                                                                                            \
    if (const ::caravan::Status& sandbox_ = ::caravan::rewards::code::testing::sandbox_status(); \
        !sandbox_.ok()) {                                                                         \
      GTEST_SKIP() << "no bubblewrap sandbox on this host: " << sandbox_.message();               \
    }                                                                                             \
  } while (0)

}  // namespace caravan::rewards::code::testing
