// File: bench/bench_pipeline.cpp
// Benchmark of the pipeline modes (issue 18) on the quickstart: for each seed, configs/quickstart.toml
// runs through the real `caravan run` three times back to back, with [pipeline] mode = "sync",
// "one_step_off" and "async" (max_staleness = 2) and [run] seed = the seed. The modes are
// interleaved per seed (seed 1: sync, one_step_off, async; seed 2: ...) so that drifting machine
// load hits every mode alike. Per run, from the wall clock and RUN_DIR/metrics.jsonl:
//   run_s         wall time of the whole `caravan run` (start-up, SFT, evaluations, RL)
//   sft_s         wall time of the SFT stage (the `sft` record): the same work in every mode, only
//                 the learner's thread count differs (core/thread_budget.h), so it shows what the
//                 machine's load did to each run
//   rl_s          wall time of the RL phase (rl_seconds of the last `rl` record)
//   accuracy      final held-out accuracy (the `eval-rl` record)
//   learner_wait  learner_wait_seconds / rl_seconds: the learner waiting for a batch
//   actor_idle    actor_idle_seconds / (rl_seconds * [rollout] actors): ready rollout actors
//                 without work (waiting for weights or for admission)
//   staleness     the largest max_staleness of the `rl` records (policy versions)
// Then per mode the mean and min..max over the seeds, and the ratios of sync's mean wall time
// to each mode's (RL phase and whole run).
//
//   build/bench/bench_pipeline --quick              # one seed, SFT 20 / GRPO 10 steps, < 1 minute
//   build/bench/bench_pipeline --grpo-steps 150     # 3 seeds x 3 modes, shortened RL
//   build/bench/bench_pipeline                      # the full quickstart, ~5 min per run
//
// The last line is `RESULT one_step_off_speedup=... async_speedup=... acc_sync=... acc_one_step_off=...
// acc_async=... learner_wait_sync=... learner_wait_async=... actor_idle_sync=... actor_idle_async=...`.
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "apps/run_config_reader.h"
#include "core/command_line.h"
#include "core/jsonl.h"
#include "core/read_file.h"
#include "core/run_directory.h"
#include "core/status.h"
#include "core/str_cat.h"

namespace caravan::bench {
namespace {

using Clock = std::chrono::steady_clock;
namespace fs = std::filesystem;

struct BenchOptions {
  int64_t seeds = 3;
  bool quick = false;
  // Overrides [grpo] steps (of the quickstart or of --quick's shortened one).
  std::optional<int64_t> grpo_steps;
  bool keep = false;
};

// One [pipeline] setting under test; `label` names it in the tables and the RESULT keys.
struct PipelineMode {
  const char* label;
  const char* mode;
  // [pipeline] max_staleness; unset keeps the config's value (only async reads it).
  std::optional<int64_t> max_staleness;
};

constexpr std::array<PipelineMode, 3> kModes{{
    {"sync", "sync", std::nullopt},
    {"one_step_off", "one_step_off", std::nullopt},
    {"async", "async", 2},
}};

// --quick: three runs in under a minute on 2 cores. SFT 100 / GRPO 40 steps / 100 held-out
// problems took 35-77 s per run there (about 3 s of it start-up; sync slowest under load), hence
// shorter still.
constexpr int64_t kQuickSftSteps = 20;
constexpr int64_t kQuickGrpoSteps = 10;
constexpr int64_t kQuickHeldOutSize = 50;

std::optional<int> parse_args(int argc, char** argv, BenchOptions& options) {
  core::CommandLine cli("bench_pipeline",
                        "The quickstart through `caravan run` in [pipeline] mode sync, one_step_off and async\n"
                        "(max_staleness 2), modes interleaved per seed: wall time of the run and of its RL phase,\n"
                        "final held-out accuracy, learner wait and rollout-actor idle fractions, staleness.\n"
                        "Progress goes to stderr. The last line is `RESULT one_step_off_speedup=... async_speedup=...\n"
                        "acc_sync=... acc_one_step_off=... acc_async=... learner_wait_sync=... learner_wait_async=...\n"
                        "actor_idle_sync=... actor_idle_async=...` (speedup: sync's mean RL wall time / the mode's).");
  cli.switch_flag("--quick", str_cat("one seed and a shortened quickstart (SFT ", kQuickSftSteps, " steps, GRPO ",
                                     kQuickGrpoSteps, " steps, ", kQuickHeldOutSize, " held-out problems)"));
  cli.flag("--seeds", "N", "seeds 1..N, each running every mode (default 3; 1 with --quick)");
  cli.flag("--grpo-steps", "N", str_cat("[grpo] steps of every run (default: the quickstart's, ", kQuickGrpoSteps, " with --quick)"));
  cli.switch_flag("--keep", "keep the configs and run directories (their path is printed) instead of removing them");
  if (std::optional<int> exit_code = cli.parse_or_exit(argc, argv, /*first=*/1)) return exit_code;
  options.quick = cli.is_set("--quick");
  options.keep = cli.is_set("--keep");
  Result<double> seeds = cli.positive_number("--seeds", options.quick ? 1 : 3, /*integer=*/true);
  Result<double> grpo_steps = cli.positive_number("--grpo-steps", 1, /*integer=*/true);
  for (const Result<double>* value : {&seeds, &grpo_steps}) {
    if (!value->ok()) {
      std::cerr << value->status().message() << "\n";
      return 2;
    }
  }
  options.seeds = static_cast<int64_t>(*seeds);
  if (cli.value("--grpo-steps")) options.grpo_steps = static_cast<int64_t>(*grpo_steps);
  return std::nullopt;
}

// The quickstart as one run of the benchmark runs it.
apps::RunConfig run_config(const apps::RunConfig& quickstart, const PipelineMode& mode, uint64_t seed,
                           const BenchOptions& options) {
  apps::RunConfig config = quickstart;
  config.run.seed = seed;
  config.pipeline.mode = mode.mode;
  if (mode.max_staleness) config.pipeline.max_staleness = *mode.max_staleness;
  if (options.quick) {
    config.sft.steps = kQuickSftSteps;
    config.grpo.steps = kQuickGrpoSteps;
    config.task.held_out_size = kQuickHeldOutSize;
  }
  if (options.grpo_steps) config.grpo.steps = *options.grpo_steps;
  return config;
}

// What one run measured (see the file comment).
struct RunMeasurement {
  double run_s = 0;
  double sft_s = 0;
  double rl_s = 0;
  double accuracy = 0;
  double learner_wait = 0;
  double actor_idle = 0;
  double staleness = 0;
};

// The RL figures of a finished run's metrics.jsonl. kInvalidArgument naming the file when it
// lacks an `rl` or an `eval-rl` record or one of their fields.
Result<RunMeasurement> read_metrics(const fs::path& metrics, int64_t actors) {
  std::optional<nlohmann::json> last_rl;
  std::optional<double> accuracy;
  double sft_s = 0;
  double staleness = 0;
  CARAVAN_RETURN_IF_ERROR(core::for_each_jsonl_row(
      metrics, "metrics file", [&](int64_t line, const Result<nlohmann::json>& row) -> Status {
        if (!row.ok()) return Status::invalid_argument(str_cat(metrics.string(), ":", line, ": ", row.status().message()));
        const std::string phase = row->value("phase", "");
        try {
          if (phase == "rl") {
            staleness = std::max(staleness, row->at("max_staleness").get<double>());
            last_rl = *row;
          } else if (phase == "sft") {
            sft_s = row->at("seconds").get<double>();
          } else if (phase == "eval-rl") {
            accuracy = row->at("held_out_accuracy").get<double>();
          }
        } catch (const nlohmann::json::exception& error) {
          return Status::invalid_argument(str_cat(metrics.string(), ":", line, ": ", phase, " record: ", error.what()));
        }
        return Status();
      }));
  if (!last_rl || !accuracy) {
    return Status::invalid_argument(str_cat(metrics.string(), ": no ", last_rl ? "eval-rl" : "rl", " record"));
  }
  RunMeasurement measured;
  try {
    measured.rl_s = last_rl->at("rl_seconds").get<double>();
    measured.learner_wait = last_rl->at("learner_wait_seconds").get<double>() / measured.rl_s;
    measured.actor_idle =
        last_rl->at("actor_idle_seconds").get<double>() / (measured.rl_s * static_cast<double>(actors));
  } catch (const nlohmann::json::exception& error) {
    return Status::invalid_argument(str_cat(metrics.string(), ": last rl record: ", error.what()));
  }
  measured.accuracy = *accuracy;
  measured.sft_s = sft_s;
  measured.staleness = staleness;
  return measured;
}

// Writes `config` into `work`, runs `caravan run` on it and reads what it measured. The run's
// stdout/stderr go to files beside its run directory; a failed run's stderr ends the error.
Result<RunMeasurement> run_once(const apps::RunConfig& config, const fs::path& work, const std::string& name) {
  const fs::path config_file = work / (name + ".toml");
  const fs::path run_dir = work / name;
  std::ofstream(config_file) << apps::to_toml(config);
  const fs::path out = work / (name + ".stdout"), err = work / (name + ".stderr");
  const std::string command = str_cat("'", CARAVAN_BINARY, "' run '", config_file.string(), "' --run-dir '",
                                      run_dir.string(), "' > '", out.string(), "' 2> '", err.string(), "'");
  const auto started = Clock::now();
  const int status = std::system(command.c_str());
  const double wall = std::chrono::duration<double>(Clock::now() - started).count();
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    Result<std::string> log = core::read_file(err, "caravan run stderr");
    std::string tail = log.ok() ? *log : log.status().to_string();
    if (tail.size() > 4000) tail = "..." + tail.substr(tail.size() - 4000);
    return Status::internal(str_cat("caravan run ", config_file.string(), " failed (wait status ", status,
                                    "); its stderr (", err.string(), ") ends:\n", tail));
  }
  CARAVAN_ASSIGN_OR_RETURN(const core::RunDirectory directory, core::RunDirectory::open(run_dir));
  CARAVAN_ASSIGN_OR_RETURN(RunMeasurement measured, read_metrics(directory.metrics_path(), config.rollout.actors));
  measured.run_s = wall;
  return measured;
}

// Mean, least and largest of one field over a mode's runs.
struct Spread {
  double mean = 0, low = 0, high = 0;
};

Spread spread(const std::vector<RunMeasurement>& runs, double RunMeasurement::*field) {
  CARAVAN_CHECK(!runs.empty(), "spread over no runs");
  Spread result{0, runs.front().*field, runs.front().*field};
  for (const RunMeasurement& run : runs) {
    result.mean += run.*field;
    result.low = std::min(result.low, run.*field);
    result.high = std::max(result.high, run.*field);
  }
  result.mean /= static_cast<double>(runs.size());
  return result;
}

void print_run(int64_t seed, const PipelineMode& mode, const RunMeasurement& run) {
  std::printf("%4lld  %-12s  %7.1f  %7.1f  %7.1f  %8.3f  %12.3f  %10.3f  %9.0f\n", static_cast<long long>(seed),
              mode.label, run.run_s, run.sft_s, run.rl_s, run.accuracy, run.learner_wait, run.actor_idle, run.staleness);
  std::fflush(stdout);
}

void print_summary(const PipelineMode& mode, const std::vector<RunMeasurement>& runs) {
  std::ostringstream line;
  line << std::left << std::setw(12) << mode.label;
  for (double RunMeasurement::*field : {&RunMeasurement::run_s, &RunMeasurement::sft_s, &RunMeasurement::rl_s,
                                        &RunMeasurement::accuracy, &RunMeasurement::learner_wait,
                                        &RunMeasurement::actor_idle, &RunMeasurement::staleness}) {
    const Spread s = spread(runs, field);
    line << "  " << std::setw(23) << str_cat(std::fixed, std::setprecision(3), s.mean, " (", s.low, "..", s.high, ")");
  }
  std::string text = line.str();
  text.erase(text.find_last_not_of(' ') + 1);
  std::printf("%s\n", text.c_str());
}

int run(const BenchOptions& options) {
  Result<apps::RunConfig> quickstart = apps::load_run_config(CARAVAN_QUICKSTART_CONFIG);
  if (!quickstart.ok()) {
    std::cerr << "bench_pipeline: " << quickstart.status().to_string() << "\n";
    return 1;
  }
  const fs::path work = fs::temp_directory_path() / str_cat("caravan-bench-pipeline-", ::getpid());
  fs::remove_all(work);
  fs::create_directories(work);
  const apps::RunConfig first = run_config(*quickstart, kModes.front(), 1, options);
  std::printf("quickstart %s: sft %lld steps, grpo %lld steps, held-out %lld, %lld rollout actor(s); %lld seed(s) x %zu modes\n",
              CARAVAN_QUICKSTART_CONFIG, static_cast<long long>(first.sft.steps),
              static_cast<long long>(first.grpo.steps), static_cast<long long>(first.task.held_out_size),
              static_cast<long long>(first.rollout.actors), static_cast<long long>(options.seeds), kModes.size());
  std::printf("seed  mode            run_s    sft_s     rl_s  accuracy  learner_wait  actor_idle  staleness\n");
  std::fflush(stdout);
  std::array<std::vector<RunMeasurement>, kModes.size()> measured;
  const int64_t total = options.seeds * static_cast<int64_t>(kModes.size());
  for (int64_t seed = 1; seed <= options.seeds; ++seed) {
    for (size_t m = 0; m < kModes.size(); ++m) {
      const PipelineMode& mode = kModes[m];
      const int64_t index = (seed - 1) * static_cast<int64_t>(kModes.size()) + static_cast<int64_t>(m) + 1;
      std::cerr << "bench_pipeline: [" << index << "/" << total << "] seed " << seed << ", " << mode.label << " ..."
                << std::endl;
      Result<RunMeasurement> run =
          run_once(run_config(*quickstart, mode, static_cast<uint64_t>(seed), options), work,
                   str_cat("seed", seed, "-", mode.label));
      if (!run.ok()) {
        std::cerr << "bench_pipeline: " << run.status().to_string() << "\nbench_pipeline: kept " << work.string()
                  << "\n";
        return 1;
      }
      std::cerr << "bench_pipeline: [" << index << "/" << total << "] done in " << run->run_s << " s" << std::endl;
      print_run(seed, mode, *run);
      measured[m].push_back(*run);
    }
  }
  if (options.keep) {
    std::printf("kept %s\n", work.string().c_str());
  } else {
    fs::remove_all(work);
  }
  std::printf("\nper mode, mean (min..max) over %lld seed(s):\n", static_cast<long long>(options.seeds));
  std::printf("mode          run_s                    sft_s                    rl_s                     "
              "accuracy                 learner_wait             actor_idle               staleness\n");
  for (size_t m = 0; m < kModes.size(); ++m) print_summary(kModes[m], measured[m]);
  // Sync's mean wall time over each mode's: > 1 means the mode is faster.
  const auto speedup = [&](size_t m, double RunMeasurement::*field) {
    return spread(measured[0], field).mean / spread(measured[m], field).mean;
  };
  const auto mean = [&](size_t m, double RunMeasurement::*field) { return spread(measured[m], field).mean; };
  std::printf("\nspeedup over sync, RL phase: one_step_off %.2fx, async %.2fx; whole run: one_step_off %.2fx, async %.2fx\n",
              speedup(1, &RunMeasurement::rl_s), speedup(2, &RunMeasurement::rl_s),
              speedup(1, &RunMeasurement::run_s), speedup(2, &RunMeasurement::run_s));
  std::printf("RESULT one_step_off_speedup=%.2f async_speedup=%.2f acc_sync=%.3f acc_one_step_off=%.3f acc_async=%.3f "
              "learner_wait_sync=%.3f learner_wait_async=%.3f actor_idle_sync=%.3f actor_idle_async=%.3f\n",
              speedup(1, &RunMeasurement::rl_s), speedup(2, &RunMeasurement::rl_s),
              mean(0, &RunMeasurement::accuracy), mean(1, &RunMeasurement::accuracy),
              mean(2, &RunMeasurement::accuracy), mean(0, &RunMeasurement::learner_wait),
              mean(2, &RunMeasurement::learner_wait), mean(0, &RunMeasurement::actor_idle),
              mean(2, &RunMeasurement::actor_idle));
  return 0;
}

}  // namespace
}  // namespace caravan::bench

int main(int argc, char** argv) {
  caravan::bench::BenchOptions options;
  if (std::optional<int> exit_code = caravan::bench::parse_args(argc, argv, options)) return *exit_code;
  return caravan::bench::run(options);
}
