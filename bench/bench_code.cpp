// File: bench/bench_code.cpp
// Benchmark of the sandboxed code verifier (issue 5): verifications per second of a trivial
// correct solution against 5 asserts, each run in its own bubblewrap sandbox, from N worker
// threads (default 2, the cores of the dev machine), with the warm pool and without it (cold:
// every call starts bwrap and the Python harness itself). Target: >= 50 runs/s warm.
//
//   build/bench/bench_code --quick              # 5 s per mode
//   build/bench/bench_code --seconds 20 --threads 4 --pool 8
//
// The last line is `RESULT warm_runs_per_s=... cold_runs_per_s=... warm_over_cold=... ...`.
#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "core/command_line.h"
#include "core/str_cat.h"
#include "rewards/code/code_verifier.h"
#include "rewards/code/sandbox_process.h"

namespace caravan::bench {
namespace {

using rewards::Verdict;
using rewards::VerdictStatus;
using rewards::code::CodeVerifier;
using rewards::code::CodeVerifierOptions;
using Clock = std::chrono::steady_clock;

constexpr double kTargetWarmRunsPerSecond = 50.0;
constexpr std::string_view kCompletion =
    "Here is the solution.\n```python\ndef add(a, b):\n    return a + b\n```\n";
constexpr std::string_view kGroundTruth =
    R"(["assert add(1, 2) == 3", "assert add(0, 0) == 0", "assert add(-1, 1) == 0",)"
    R"( "assert add(10, 5) == 15", "assert add(2, 2) == 4"])";

struct BenchOptions {
  // Measured seconds per mode (after a short warm-up). Range: > 0.
  double seconds = 20.0;
  // Worker threads calling verify(). Range: >= 1.
  int threads = 2;
  // Warm pool size of the warm mode. Range: >= 1.
  int pool = 4;
};

struct Measurement {
  uint64_t runs = 0;
  uint64_t not_ok = 0;
  double seconds = 0.0;
  double p50_ms = 0.0;
  double p99_ms = 0.0;
  // CPU time (user + system) of this process and of every reaped sandbox process, per run.
  double cpu_ms_per_run = 0.0;
  std::string first_problem;

  double runs_per_second() const { return seconds > 0 ? static_cast<double>(runs) / seconds : 0.0; }
};

// Parses argv into `options`. Returns the exit code to stop with (0 after --help, 2 on a bad
// flag), or nullopt to run.
std::optional<int> parse_args(int argc, char** argv, BenchOptions& options) {
  core::CommandLine cli("bench_code",
                        "Measures sandboxed code verifications per second, warm pool vs cold start.\n"
                        "The last line is `RESULT key=value ...`.");
  cli.switch_flag("--quick", "5 s per mode instead of 20 s");
  cli.flag("--seconds", "S", "measured seconds per mode (overrides --quick)");
  cli.flag("--threads", "N", "worker threads calling verify() (default 2)");
  cli.flag("--pool", "K", "warm pool size (default 4)");
  if (std::optional<int> exit_code = cli.parse_or_exit(argc, argv, /*first=*/1)) return exit_code;
  Result<double> seconds = cli.positive_number("--seconds", cli.is_set("--quick") ? 5.0 : options.seconds);
  Result<double> threads = cli.positive_number("--threads", options.threads, /*integer=*/true);
  Result<double> pool = cli.positive_number("--pool", options.pool, /*integer=*/true);
  for (const Status& status : {seconds.status(), threads.status(), pool.status()}) {
    if (!status.ok()) {
      std::cerr << status.message() << "\n";
      return 2;
    }
  }
  options.seconds = *seconds;
  options.threads = static_cast<int>(*threads);
  options.pool = static_cast<int>(*pool);
  return std::nullopt;
}

// CPU seconds used so far by this process and its reaped descendants (each sandbox's bwrap is
// reaped here, and it reaps the sandboxed processes, so their time is included).
double cpu_seconds() {
  double total = 0.0;
  for (int who : {RUSAGE_SELF, RUSAGE_CHILDREN}) {
    struct rusage usage {};
    ::getrusage(who, &usage);
    total += static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
             static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) * 1e-6;
  }
  return total;
}

double percentile(std::vector<double>& values, double q) {
  if (values.empty()) return 0.0;
  const size_t index = std::min(values.size() - 1, static_cast<size_t>(q * static_cast<double>(values.size())));
  std::nth_element(values.begin(), values.begin() + static_cast<long>(index), values.end());
  return values[index];
}

// Calls verify() from `threads` threads for `seconds` and counts the calls.
Measurement measure(const CodeVerifier& verifier, int threads, double seconds) {
  Measurement result;
  std::mutex mutex;
  std::vector<double> latencies_ms;
  std::atomic<uint64_t> runs{0}, not_ok{0};
  const double cpu_start = cpu_seconds();
  const Clock::time_point start = Clock::now();
  const Clock::time_point stop = start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
  {
    std::vector<std::jthread> workers;
    for (int t = 0; t < threads; ++t) {
      workers.emplace_back([&] {
        std::vector<double> local;
        while (Clock::now() < stop) {
          const Clock::time_point begin = Clock::now();
          const Verdict verdict = verifier.verify(kCompletion, kGroundTruth);
          local.push_back(std::chrono::duration<double, std::milli>(Clock::now() - begin).count());
          runs.fetch_add(1);
          if (verdict.status != VerdictStatus::kOk) {
            not_ok.fetch_add(1);
            std::lock_guard lock(mutex);
            if (result.first_problem.empty()) {
              result.first_problem = str_cat(rewards::verdict_status_name(verdict.status), ": ", verdict.detail);
            }
          }
        }
        std::lock_guard lock(mutex);
        latencies_ms.insert(latencies_ms.end(), local.begin(), local.end());
      });
    }
  }
  result.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  result.runs = runs.load();
  result.cpu_ms_per_run = result.runs > 0 ? (cpu_seconds() - cpu_start) * 1000.0 / static_cast<double>(result.runs) : 0.0;
  result.not_ok = not_ok.load();
  result.p50_ms = percentile(latencies_ms, 0.50);
  result.p99_ms = percentile(latencies_ms, 0.99);
  return result;
}

Measurement run_mode(const char* name, int pool, const BenchOptions& options) {
  CodeVerifierOptions verifier_options;
  verifier_options.deadline = std::chrono::seconds(10);
  verifier_options.warm_pool_size = pool;
  const CodeVerifier verifier(verifier_options);
  measure(verifier, options.threads, std::min(1.0, options.seconds / 5));  // warm-up: page cache, pool filled
  const Measurement m = measure(verifier, options.threads, options.seconds);
  std::printf("%-5s pool=%d threads=%d runs=%llu runs_per_s=%.1f p50_ms=%.1f p99_ms=%.1f cpu_ms_per_run=%.1f "
              "not_ok=%llu%s%s\n", name, pool,
              options.threads, static_cast<unsigned long long>(m.runs), m.runs_per_second(), m.p50_ms, m.p99_ms,
              m.cpu_ms_per_run,
              static_cast<unsigned long long>(m.not_ok), m.first_problem.empty() ? "" : " first_problem=",
              m.first_problem.c_str());
  std::fflush(stdout);
  return m;
}

int run(int argc, char** argv) {
  BenchOptions options;
  if (std::optional<int> exit_code = parse_args(argc, argv, options)) return *exit_code;
  if (const Status sandbox = rewards::code::check_sandbox(); !sandbox.ok()) {
    std::cerr << "bench_code: no bubblewrap sandbox: " << sandbox.message() << "\n";
    return 1;
  }
  std::printf("bench_code: trivial correct solution, 5 asserts, %.0f s per mode, %u hardware threads\n",
              options.seconds, std::thread::hardware_concurrency());
  const Measurement warm = run_mode("warm", options.pool, options);
  const Measurement cold = run_mode("cold", 0, options);
  const double ratio = cold.runs_per_second() > 0 ? warm.runs_per_second() / cold.runs_per_second() : 0.0;
  // Load average: the machine is often shared, and runs/s then says more about the neighbours.
  double load[1] = {0.0};
  ::getloadavg(load, 1);
  std::printf("RESULT warm_runs_per_s=%.1f cold_runs_per_s=%.1f warm_over_cold=%.2f warm_target_ratio=%.2f "
              "warm_p50_ms=%.1f cold_p50_ms=%.1f warm_cpu_ms_per_run=%.1f cold_cpu_ms_per_run=%.1f not_ok=%llu "
              "threads=%d pool=%d load_avg_1m=%.1f\n",
              warm.runs_per_second(), cold.runs_per_second(), ratio, warm.runs_per_second() / kTargetWarmRunsPerSecond,
              warm.p50_ms, cold.p50_ms, warm.cpu_ms_per_run, cold.cpu_ms_per_run,
              static_cast<unsigned long long>(warm.not_ok + cold.not_ok), options.threads, options.pool, load[0]);
  return warm.not_ok + cold.not_ok == 0 ? 0 : 1;
}

}  // namespace
}  // namespace caravan::bench

int main(int argc, char** argv) { return caravan::bench::run(argc, argv); }
