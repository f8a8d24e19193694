// File: bench/competing_load.h
// A competing CPU load for the benchmarks that measure how Caravan degrades on a shared machine:
// child processes that spin until the object is destroyed, and the machine's load average to
// note beside such measurements.
//
//   {
//     caravan::bench::BusyLoops busy(2);  // two processes spinning from here ...
//     run_the_workload();
//   }                                     // ... to here
#pragma once

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdint>
#include <fstream>
#include <string>
#include <vector>

namespace caravan::bench {

// `count` processes that spin until killed: the competing load. Killed by the destructor. Each
// leads a session of its own, as another user's job would: with the kernel's autogroup
// scheduling a process in the benchmark's session would compete inside the benchmark's own CPU
// share (taking from it alone) instead of for the machine.
class BusyLoops {
 public:
  explicit BusyLoops(int count) {
    for (int i = 0; i < count; ++i) {
      const pid_t pid = ::fork();
      if (pid == 0) {
        ::setsid();
        volatile uint64_t spin = 0;
        while (true) spin = spin + 1;
      }
      if (pid > 0) pids_.push_back(pid);
    }
  }
  BusyLoops(const BusyLoops&) = delete;
  BusyLoops& operator=(const BusyLoops&) = delete;
  ~BusyLoops() {
    for (pid_t pid : pids_) ::kill(pid, SIGKILL);
    for (pid_t pid : pids_) ::waitpid(pid, nullptr, 0);
  }

 private:
  std::vector<pid_t> pids_;
};

// /proc/loadavg's 1, 5 and 15 minute averages, "1.00 0.50 0.20".
inline std::string load_average() {
  std::ifstream file("/proc/loadavg");
  std::string one, five, fifteen;
  file >> one >> five >> fifteen;
  return one + " " + five + " " + fifteen;
}

} // namespace caravan::bench
