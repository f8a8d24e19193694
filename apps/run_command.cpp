// caravan run: resolves the config (run directory, free ports), writes it into the run
// directory, starts controller, rollout actors, verifiers and the learner as child processes
// and supervises them until the controller finishes. `caravan run --resume RUN_DIR` starts the
// same processes on an existing run directory; the controller continues from its checkpoint.
// An SFT or DPO stage ([task] kind) trains in this process instead, and resumes the same way.
// `caravan run --external-workers` starts the controller only: a cluster launcher (Slurm's srun,
// deploy/slurm/caravan.sbatch) starts the workers RUN_DIR/workers.txt lists.
// On a terminal the children's output scrolls above a live status block (apps/run_console.h);
// every process also keeps a debug log in RUN_DIR/logs/ (apps/process_log.h).
#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <iostream>
#include <string_view>
#include <vector>

#include "apps/component_options.h"
#include "apps/run_config_reader.h"
#include "core/command_line.h"
#include "apps/commands.h"
#include "apps/process_log.h"
#include "apps/launcher_metrics.h"
#include "apps/metrics_endpoint.h"
#include "apps/process_supervisor.h"
#include "apps/run_console.h"
#include "apps/run_processes.h"
#include "apps/run_ports.h"
#include "apps/signal_stopper.h"
#include "core/atomic_file.h"
#include "core/log.h"
#include "core/metrics/loop_watch.h"
#include "core/read_file.h"
#include "core/run_directory.h"
#include "core/seconds.h"
#include "core/thread_wait.h"
#include "learner/dpo_stage.h"
#include "learner/sft_stage.h"
#include "learner/stage_loop.h"
#include "model/model_loader.h"

namespace caravan::apps {
namespace {

std::string utc_stamp() {
  const std::time_t now = std::time(nullptr);
  std::tm utc{};
  gmtime_r(&now, &utc);
  char text[32];
  std::strftime(text, sizeof(text), "%Y%m%d-%H%M%S", &utc);
  return text;
}

Result<RunConfig> resolve(RunConfig config, const std::optional<std::string>& run_dir_flag) {
  if (run_dir_flag) config.run.directory = *run_dir_flag;
  if (config.run.directory.empty()) config.run.directory = str_cat("runs/", config.run.name, "-", utc_stamp());
  // Workers may start elsewhere (cluster launchers): the resolved config names every path absolutely.
  for (std::string* path :
       {&config.run.directory, &config.verifier.reward_config, &config.task.dataset, &config.task.held_out_dataset,
        &config.model.path, &config.value_model.path}) {
    if (!path->empty()) *path = std::filesystem::absolute(*path).lexically_normal().string();
  }
  return config;
}

// Opens the model every worker will load, so a checkpoint Caravan cannot represent, or one the
// task cannot prompt, fails here, naming the file and key, before any process starts.
Status check_model(const RunConfig& config) {
  CARAVAN_ASSIGN_OR_RETURN(const model::ModelSpec spec, model::open_model(config.model));
  if (config.task.kind == "rlvr" && !spec.prompts->format().chat_format) {
    return Status::invalid_argument(str_cat("[task] kind = \"rlvr\" renders chat prompts, but ",
                                            spec.prompts->format().chat_template_origin));
  }
  if (config.rollout.max_new_tokens >= spec.config.max_position_embeddings) {
    return Status::invalid_argument(str_cat("[rollout] max_new_tokens = ", config.rollout.max_new_tokens,
                                            " leaves no room for a prompt in the model's ",
                                            spec.config.max_position_embeddings, " positions"));
  }
  log::info("event=model_checked source=", spec.pretrained() ? spec.directory.string() : std::string("inline"),
            " architecture=", core::enum_name(spec.config.architecture), " layers=", spec.config.num_layers,
            " vocab=", spec.config.vocab_size, " context=", spec.config.max_position_embeddings);
  return Status();
}

// What `caravan run` was asked to do: start CONFIG (in --run-dir), or --resume RUN_DIR.
struct RunRequest {
  std::optional<std::string> config_path;
  std::optional<std::string> run_dir;
  std::optional<std::string> resume_dir;
  // Start the controller only; the workers are started elsewhere (a cluster launcher).
  bool external_workers = false;
  // The launcher's own command line: a stage re-executes itself with it (core/thread_wait.h).
  char** argv = nullptr;
};

// RUN_DIR/workers.txt: the processes a cluster launcher starts for an --external-workers run,
// one `ROLE RANK` line each (deploy/slurm/caravan.sbatch reads it).
constexpr const char* kExternalWorkersFile = "workers.txt";

Status write_external_workers(const core::RunDirectory& run_dir, const RunConfig& config) {
  return core::write_file_atomically(run_dir.root() / kExternalWorkersFile, external_workers_listing(config));
}

// An --external-workers run (one learner rank): the controller binds where the other nodes reach it (CARAVAN_HOST,
// which cluster launchers set per node, else [cluster] host), and the learner picks its
// weight-sync port on its own node (its Hello tells the controller).
Status prepare_for_external_workers(RunConfig& config) {
  if (config.learner.ranks > 1) {
    return Status::invalid_argument(str_cat("--external-workers: [learner] ranks = ", config.learner.ranks,
                                            " is for runs on one machine (learner ranks 1.. meet rank 0 at [cluster] ",
                                            "host); use ranks = 1"));
  }
  if (const char* host = std::getenv("CARAVAN_HOST"); host != nullptr && *host != '\0') config.cluster.host = host;
  return Status();
}

// The run's config: CONFIG resolved, or the resolved config of the run to resume. Parsing only.
Result<RunConfig> load_config(const RunRequest& request) {
  if (!request.resume_dir) {
    CARAVAN_ASSIGN_OR_RETURN(RunConfig loaded, load_run_config(*request.config_path));
    return resolve(std::move(loaded), request.run_dir);
  }
  auto opened = core::RunDirectory::open(*request.resume_dir);
  if (!opened.ok()) {
    return Status::not_found(str_cat("--resume ", *request.resume_dir, ": not a run directory (no config.toml); ",
                                     "give the directory `caravan run` created"));
  }
  CARAVAN_ASSIGN_OR_RETURN(RunConfig config, load_run_config(opened->config_path()));
  // The directory may have been moved since: its workers must find it where it is now.
  std::filesystem::path root = opened->root().lexically_normal();
  if (!root.has_filename()) root = root.parent_path();  // "runs/q/" -> "runs/q"
  config.run.directory = root.string();
  return config;
}

// A new run: picks the unset ports and creates the run directory with the final config.
Result<core::RunDirectory> create_run_directory(RunConfig& config, bool external_workers) {
  const int64_t configured_weights_sync_port = config.cluster.weights_sync_port;
  CARAVAN_ASSIGN_OR_RETURN(std::vector<std::string> picked, pick_unset_ports(config));
  if (external_workers && configured_weights_sync_port == 0) {
    // Free here says nothing about the learner's node: it picks its own.
    config.cluster.weights_sync_port = 0;
    std::erase(picked, "weights_sync_port");
  }
  CARAVAN_RETURN_IF_ERROR(check_model(config));
  CARAVAN_ASSIGN_OR_RETURN(core::RunDirectory run_dir,
                           core::RunDirectory::create(config.run.directory, to_toml(config)));
  CARAVAN_RETURN_IF_ERROR(write_auto_picked_ports(run_dir, picked));
  return run_dir;
}

// A resumed run: picks taken ports again where allowed and rewrites config.toml atomically when
// anything changed. The controller finds the latest committed checkpoint itself.
Result<core::RunDirectory> reopen_run_directory(RunConfig& config) {
  CARAVAN_ASSIGN_OR_RETURN(core::RunDirectory run_dir, core::RunDirectory::open(config.run.directory));
  CARAVAN_ASSIGN_OR_RETURN(const std::vector<std::string> auto_picked, read_auto_picked_ports(run_dir));
  CARAVAN_RETURN_IF_ERROR(repick_taken_ports(config, auto_picked, run_dir.config_path()));
  const std::string resolved = to_toml(config);
  CARAVAN_ASSIGN_OR_RETURN(const std::string written, core::read_file(run_dir.config_path(), "run config"));
  if (resolved != written) CARAVAN_RETURN_IF_ERROR(core::write_file_atomically(run_dir.config_path(), resolved));
  CARAVAN_RETURN_IF_ERROR(check_model(config));
  return run_dir;
}

// An SFT or DPO stage: trains in this process (no rollouts, no verifiers) and ends with the
// run directory's final_model. SIGTERM or SIGINT stops it after the step in progress with a
// checkpoint (as the controller of an RL run does); --resume continues from the newest one.
Status run_stage(const RunRequest& request, RunConfig& config) {
  // The stage trains in this process: like a worker it runs with [run] thread_wait, re-executed
  // once when the environment lacks it, before LibTorch's first parallel region and before
  // anything a re-run would repeat (the run directory, its ports).
  CARAVAN_RETURN_IF_ERROR(core::ensure_thread_wait(config.run.thread_wait, request.argv));
  // Before any thread exists, so the signal mask holds for the whole process.
  const SignalStopper signals;
  const char* wait_policy = std::getenv("OMP_WAIT_POLICY");
  CARAVAN_ASSIGN_OR_RETURN(const core::RunDirectory run_dir,
                           request.resume_dir ? reopen_run_directory(config)
                                              : create_run_directory(config, /*external_workers=*/false));
  log::info("event=", request.resume_dir ? "run_resume" : "run_start", " name=", config.run.name,
            " run_dir=", run_dir.root().string(), " stage=", config.task.kind,
            " thread_wait=", core::enum_name(config.run.thread_wait),
            " OMP_WAIT_POLICY=", wait_policy != nullptr ? wait_policy : "unset");
  const learner::StageControl control{.resume = request.resume_dir.has_value(), .stop = signals.token()};
  const learner::StageOpener open = config.task.kind == "sft" ? learner::open_sft_stage : learner::open_dpo_stage;
  CARAVAN_RETURN_IF_ERROR(learner::run_stage(stage_options(config), run_dir, open, control));
  log::info("event=run_complete run_dir=", run_dir.root().string());
  return Status();
}

Status run(const RunRequest& request) {
  const MetricsEnvironment environment = read_metrics_environment();
  if (environment.port) {
    return Status::invalid_argument(
        "CARAVAN_METRICS_PORT is set: it gives one `caravan worker` process its metrics port, but `caravan run` "
        "starts every process of the run and gives each its own port from [metrics] port_base; unset it");
  }
  CARAVAN_ASSIGN_OR_RETURN(RunConfig config, load_config(request));
  if (config.task.kind == "sft" || config.task.kind == "dpo") return run_stage(request, config);
  if (request.external_workers) CARAVAN_RETURN_IF_ERROR(prepare_for_external_workers(config));
  // The workers inherit the environment: they start with [run] thread_wait and need no re-exec.
  core::set_thread_wait_for_children(config.run.thread_wait);
  // On a terminal: the children's output and the launcher's lines above a live status block.
  std::unique_ptr<RunConsole> console;
  if (stdout_is_terminal()) console = std::make_unique<RunConsole>(std::cout, config.grpo.steps);
  auto registry = std::make_shared<metrics::Registry>();
  LauncherMetrics launcher_metrics(*registry, supervised_process_names(config, request.external_workers));
  // The supervisor's loop turns every 200 ms; /healthz fails when it has not for 10 s.
  metrics::LoopWatch loop(std::chrono::seconds(10));
  // Before any thread exists (parsing the config starts none, nor does the console until
  // start()), so the signal mask holds for the whole process.
  ProcessSupervisor supervisor(
      {.kill_grace = std::chrono::seconds(10),
       .sigterm_grace = core::seconds_to_ms(config.supervision.sigterm_grace_s),
       .child_output_fd = console ? console->child_output_fd() : -1,
       .on_running_changed = [&console](int64_t running, int64_t spawned) {
         if (console) console->set_workers(running, spawned);
       },
       .on_tick = [&](const ProcessSupervisor& supervised) {
         loop.beat();
         launcher_metrics.publish(supervised);
       }});
  CARAVAN_ASSIGN_OR_RETURN(const core::RunDirectory run_dir,
                           request.resume_dir ? reopen_run_directory(config)
                                              : create_run_directory(config, request.external_workers));
  ProcessLog::Console to_console;
  if (console) to_console = [&console](log::Level, std::string_view line) { console->print(line); };
  CARAVAN_ASSIGN_OR_RETURN(const std::unique_ptr<ProcessLog> debug_log,
                           ProcessLog::open(run_dir.log_path("launcher"), std::move(to_console)));
  if (console) console->start(run_dir.metrics_path());
  log::info("event=", request.resume_dir ? "run_resume" : "run_start", " name=", config.run.name,
            " run_dir=", run_dir.root().string(), " rollout_actors=", config.rollout.actors,
            " verifiers=", config.verifier.workers, " workers=", request.external_workers ? "external" : "local");

  CARAVAN_ASSIGN_OR_RETURN(const auto endpoint, metrics_endpoint(config, MetricsProcess::kLauncher, 0,
                                                                 config.cluster.host, {.host = environment.host}));
  const auto live = [&loop] { return loop.alive(); };
  CARAVAN_ASSIGN_OR_RETURN(const auto exposer,
                           start_metrics_endpoint(endpoint, MetricsProcess::kLauncher, registry, live, live));

  const std::string self = std::filesystem::read_symlink("/proc/self/exe").string();
  const std::string resolved_config = run_dir.config_path().string();
  // Rollout actors and verifiers are restarted when they fail; the controller and the learner hold
  // the run's state, so their failure stops it (to be resumed from the last checkpoint).
  const RestartPolicy worker_restarts{
      .max_restarts = config.supervision.max_restarts,
      .backoff = core::seconds_to_ms(config.supervision.restart_backoff_s)};
  auto start = [&](const std::string& role, int64_t rank, const RestartPolicy& restart) {
    return supervisor.spawn(str_cat(role, "-", rank),
                            {self, "worker", "--role", role, "--rank", std::to_string(rank), "--config", resolved_config},
                            restart);
  };
  Status outcome = start("controller", 0, {});
  if (request.external_workers) {
    if (outcome.ok()) outcome = write_external_workers(run_dir, config);
  } else {
    // Learner rank 0 serves the controller; ranks 1.. join it ([learner] ranks).
    for (int64_t r = 0; outcome.ok() && r < config.learner.ranks; ++r) outcome = start("learner", r, {});
    for (int64_t r = 0; outcome.ok() && r < config.rollout.actors; ++r) outcome = start("rollout", r, worker_restarts);
    for (int64_t r = 0; outcome.ok() && r < config.verifier.workers; ++r) outcome = start("verifier", r, worker_restarts);
  }
  if (outcome.ok()) outcome = supervisor.wait("controller-0");
  if (!outcome.ok()) {
    log::error("event=run_stopped run_dir=", run_dir.root().string(), " reason=\"", outcome.to_string(), "\"");
    log::result(str_cat("resume with: caravan run --resume ", run_dir.root().string()));
    return outcome;
  }
  log::info("event=run_complete run_dir=", run_dir.root().string());
  return Status();
}

}  // namespace

int run_command(int argc, char** argv) {
  // `caravan run CONFIG` or `caravan run --resume RUN_DIR`: CONFIG is required unless resuming.
  const bool resuming = std::any_of(argv + std::min(argc, 2), argv + argc, [](const char* arg) {
    return std::string_view(arg) == "--resume" || std::string_view(arg).starts_with("--resume=");
  });
  core::CommandLine cli("caravan run", "Start every role of a run (controller, learner, rollout actors, verifiers) on this machine\n"
                         "as separate processes and supervise them: failed rollout actors and verifiers are restarted\n"
                         "([supervision]), a failed controller or learner stops the run (resume it with --resume),\n"
                         "Ctrl-C stops everything, SIGTERM lets the controller checkpoint first.\n"
                         "A stopped run continues with: caravan run --resume RUN_DIR");
  if (!resuming) cli.positional("CONFIG", "run configuration (TOML), e.g. configs/quickstart.toml");
  cli.flag("--run-dir", "DIR", "run directory to create (default: [run] directory, else runs/<name>-<UTC time>)");
  cli.flag("--resume", "RUN_DIR", "continue the run in RUN_DIR (its config.toml) from its last committed checkpoint");
  cli.switch_flag("--external-workers",
                  "start the controller only; a cluster launcher starts the workers listed in RUN_DIR/workers.txt "
                  "(deploy/slurm/caravan.sbatch); the controller binds to CARAVAN_HOST when set");
  if (std::optional<int> exit_code = cli.parse_or_exit(argc, argv, /*first=*/2)) return *exit_code;
  if (resuming && cli.value("--run-dir")) {
    std::cerr << "caravan run: --resume RUN_DIR continues that directory; --run-dir does not apply\n";
    return 2;
  }
  log::set_context("role=launcher");
  const RunRequest request{.config_path = resuming ? std::nullopt : std::optional(cli.positional_value(0)),
                           .run_dir = cli.value("--run-dir"),
                           .resume_dir = cli.value("--resume"),
                           .external_workers = cli.is_set("--external-workers"),
                           .argv = argv};
  Status status = run(request);
  if (!status.ok()) {
    log::error("event=run_failed reason=\"", status.to_string(), "\"");
    return status.code() == StatusCode::kCancelled ? 130 : 1;
  }
  return 0;
}

} // namespace caravan::apps
