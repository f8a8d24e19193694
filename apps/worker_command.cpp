// caravan worker: one process of a run. Builds the role's components from the resolved
// config, connects to the controller and serves its messages until Shutdown.
#include <signal.h>

#include <ATen/Parallel.h>
#include <torch/utils.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <iostream>
#include <optional>

#include "actors/controller/controller.h"
#include "actors/rollout/rollout_actor.h"
#include "apps/component_options.h"
#include "apps/run_config_reader.h"
#include "core/command_line.h"
#include "apps/commands.h"
#include "apps/learner_rank_commands.h"
#include "apps/process_log.h"
#include "apps/metrics_endpoint.h"
#include "apps/signal_stopper.h"
#include "core/arithmetic_task.h"
#include "core/log.h"
#include "core/rlvr_prompt_source.h"
#include "core/run_directory.h"
#include "core/seconds.h"
#include "core/serial_role.h"
#include "core/thread_budget.h"
#include "core/thread_wait.h"
#include "core/worker_session.h"
#include "learner/data_parallel.h"
#include "learner/learner_metrics.h"
#include "learner/learner_worker.h"
#include "model/model_loader.h"
#include "rewards/reward_config_watcher.h"
#include "rewards/verifier_role.h"
#include "rewards/verifier_worker.h"
#include "weights_sync/communicator_weight_transport.h"

namespace caravan::apps {
namespace {

using std::chrono::milliseconds;

std::string controller_endpoint(const RunConfig& config) {
  return str_cat("tcp://", config.cluster.host, ":", config.cluster.controller_port);
}

// The address other processes of the run reach this one at: CARAVAN_HOST, which cluster
// launchers set per node, else [cluster] host (every role on one machine).
std::string advertised_host(const RunConfig& config) {
  const char* host = std::getenv("CARAVAN_HOST");
  return host != nullptr && *host != '\0' ? std::string(host) : config.cluster.host;
}

milliseconds weight_sync_timeout(const RunConfig& config) {
  return core::seconds_to_ms(config.weights_sync.timeout_s);
}

// The learner's weight-sync rendezvous store, served for the whole run on [cluster]
// weights_sync_port of this machine (0: a free port, which the learner's Hello tells the
// controller), so a port in use fails at startup.
Result<std::shared_ptr<wsync::RendezvousStore>> serve_weight_sync_store(const RunConfig& config) {
  return wsync::RendezvousStore::serve(advertised_host(config), static_cast<int>(config.cluster.weights_sync_port),
                                       weight_sync_timeout(config));
}

// The weight-sync transport of a learner (which passes the store it serves: it is rank 0 of
// every generation) or a rollout actor (null: it connects to the store each SyncWeights names).
// Each generation is joined on its first SyncWeights.
std::unique_ptr<wsync::CommunicatorWeightTransport> make_weight_transport(
    const RunConfig& config, std::shared_ptr<wsync::RendezvousStore> served_store, std::stop_token stop) {
  // The config reader accepted only known delta names.
  const wsync::WeightTransportOptions options{.backend = wsync::resolve_backend(config.weights_sync.backend),
                                              .bucket_bytes = config.weights_sync.bucket_bytes,
                                              .delta = wsync::parse_delta_mode(config.weights_sync.delta).value(),
                                              .timeout = weight_sync_timeout(config),
                                              .stop = std::move(stop)};
  return std::make_unique<wsync::CommunicatorWeightTransport>(options, std::move(served_store));
}

// The group of the learner ranks ([learner] ranks > 1), which every rank joins once its model is
// loaded: rank 0 serves the group's rendezvous store on [learner] rendezvous_port of this
// machine, the others connect to it at [cluster] host (all ranks run on one machine).
struct LearnerGroup {
  LearnerGroup(std::unique_ptr<wsync::Communicator> communicator, std::shared_ptr<wsync::RendezvousStore> store)
      : data_parallel(std::move(communicator)), commands(data_parallel, std::move(store), "learner-ranks/commands/") {}

  learner::DataParallel data_parallel;
  LearnerRankCommands commands;
  // Rank 0 forwards every TrainBatch, SaveCheckpoint and RestoreCheckpoint to the others.
  const learner::LearnerRanks ranks{
      data_parallel, data_parallel.rank() == 0
                         ? std::function<Status(capnp::MessageBuilder&)>(
                               [this](capnp::MessageBuilder& envelope) { return commands.send_envelope(envelope); })
                         : nullptr};
};

milliseconds collective_timeout(const RunConfig& config) {
  return core::seconds_to_ms(config.learner.collective_timeout_s);
}

Result<std::unique_ptr<LearnerGroup>> join_learner_group(const RunConfig& config, uint32_t rank,
                                                         std::shared_ptr<wsync::RendezvousStore> store,
                                                         std::stop_token stop) {
  wsync::CommunicatorOptions options;
  options.rank = static_cast<int>(rank);
  options.world_size = static_cast<int>(config.learner.ranks);
  options.store = store;
  options.scope = "learner-ranks/group/";
  options.timeout = collective_timeout(config);
  options.stop = std::move(stop);
  CARAVAN_ASSIGN_OR_RETURN(std::unique_ptr<wsync::Communicator> communicator,
                           wsync::make_communicator(wsync::resolve_backend(config.learner.backend), options));
  log::info("event=learner_ranks_joined rank=", rank, " ranks=", config.learner.ranks,
            " backend=", communicator->backend_name());
  return std::make_unique<LearnerGroup>(std::move(communicator), std::move(store));
}

// Runs `step` (returning a Status or a Result) at the actor-loop boundary: exceptions from
// LibTorch, Cap'n Proto or a broken invariant become its error, which the controller receives
// as the ErrorReply of the request.
template <class Step>
auto guarded(const Step& step) -> decltype(step()) {
  try {
    return step();
  } catch (const c10::Error& e) {
    return Status::internal(str_cat("LibTorch: ", e.what_without_backtrace()));
  } catch (const kj::Exception& e) {
    return Status::invalid_argument(str_cat("message: ", e.getDescription().cStr()));
  } catch (const std::exception& e) {
    return Status::internal(e.what());
  }
}

// Connects this worker to the controller; heartbeats flow from here on, also during setup.
// `service_port`: the port of the learner's weight-sync store (0 for the other roles).
Result<std::unique_ptr<core::WorkerSession>> connect_session(const RunConfig& config, zmq::context_t& context,
                                                             proto::Role role, uint32_t rank, std::stop_token stop,
                                                             uint32_t service_port = 0) {
  core::WorkerSessionOptions options;
  options.role = role;
  options.rank = rank;
  options.advertised_host = advertised_host(config);
  options.service_port = service_port;
  options.heartbeat_interval = core::seconds_to_ms(config.cluster.heartbeat_interval_s);
  options.heartbeat_timeout = core::seconds_to_ms(config.cluster.heartbeat_timeout_s);
  return core::WorkerSession::connect(context, controller_endpoint(config), options, std::move(stop));
}

// Serves `role` until the session ends, then stops the role's threads.
//
// Exit policy: a role thread may be stuck where no stop reaches it (a long LibTorch kernel, a
// collective whose peers are gone). Waiting for it would keep a worker alive long after its
// controller is gone, and destroying the role would block on it. So after the session ends,
// the role gets one heartbeat interval to stop; if a thread is still busy, the reason is logged
// and the process ends at once with std::_Exit(1), skipping destructors (nothing a worker holds
// needs them: files are written atomically, sockets have linger 0, the OS reclaims the rest).
Status serve_until_end(core::WorkerSession& session, core::WorkerRole& role, const RunConfig& config) {
  const Status served = session.serve(role);
  if (!role.stop_within(core::seconds_to_ms(config.cluster.heartbeat_interval_s))) {
    log::error("event=worker_stuck reason=\"", served.ok() ? "shutdown" : served.to_string(),
               "\" action=\"exit without waiting for the busy work thread\"");
    std::_Exit(1);
  }
  return served;
}

// What a worker reports when its setup or serving ended with `outcome`: if the session ended
// first (the controller gone, Shutdown, a signal), that reason, which also explains a setup
// step cancelled by it.
Status prefer_session_end(const core::WorkerSession& session, Status outcome) {
  if (std::optional<Status> ended = session.end_status(); ended && !outcome.ok()) return *ended;
  return outcome;
}

// The /metrics, /healthz and /readyz endpoint of a worker process, served from the session's
// start on (so a launcher sees the process live while it loads its model) with the session's
// probes; `exposer` is null when metrics are off. The session must outlive it.
struct WorkerEndpoint {
  std::shared_ptr<metrics::Registry> registry;
  std::unique_ptr<metrics::Exposer> exposer;
};

Result<WorkerEndpoint> serve_worker_metrics(const RunConfig& config, MetricsProcess process, uint32_t rank,
                                            const core::WorkerSession& session) {
  WorkerEndpoint endpoint{.registry = std::make_shared<metrics::Registry>(), .exposer = nullptr};
  CARAVAN_ASSIGN_OR_RETURN(const auto options, metrics_endpoint(config, process, rank, advertised_host(config),
                                                                read_metrics_environment()));
  CARAVAN_ASSIGN_OR_RETURN(endpoint.exposer,
                           start_metrics_endpoint(options, process, endpoint.registry,
                                                  [&session] { return session.live(); },
                                                  [&session] { return session.ready(); }));
  return endpoint;
}

core::BadRowPolicy bad_row_policy(const std::string& on_bad_row) {
  return on_bad_row == "fail" ? core::BadRowPolicy::kFail : core::BadRowPolicy::kSkip;
}

// Loads the [task] rlvr prompt set once, logs and records in metrics.jsonl what was skipped
// (malformed rows with FILE:LINE, prompts too long for the model), and splits it.
Result<std::unique_ptr<core::PromptSource>> open_rlvr_prompts(const RunConfig& config,
                                                              const core::RunDirectory& run_dir,
                                                              const model::ModelSpec& spec) {
  const std::string& file = config.task.dataset;
  core::RlvrDatasetOptions load_options;
  load_options.on_bad_row = bad_row_policy(config.task.on_bad_row);
  CARAVAN_ASSIGN_OR_RETURN(core::RlvrDataset dataset, core::load_rlvr_dataset(file, load_options));
  const core::RlvrDatasetReport loaded = dataset.report;
  // The prompt and the completion must fit the model's positions.
  const int64_t max_prompt_tokens = spec.config.max_position_embeddings - config.rollout.max_new_tokens;
  CARAVAN_ASSIGN_OR_RETURN(auto prompts, core::RlvrPromptSource::create(std::move(dataset), file,
                                                                         {.held_out_size = config.task.held_out_size,
                                                                          .held_out_seed = config.task.held_out_seed,
                                                                          .seed = config.run.seed,
                                                                          .encode = spec.prompts->as_encode_fn(),
                                                                          .max_prompt_tokens = max_prompt_tokens}));
  const core::RlvrPromptReport& split = prompts->report();
  log::info("event=dataset_loaded file=", file, " rows_read=", loaded.rows_read, " rows_skipped=", loaded.rows_skipped,
            " rows_too_long=", split.rows_too_long, " training_rows=", split.training_rows,
            " held_out_rows=", split.held_out_rows);
  constexpr size_t kProblemsLogged = 5;
  for (size_t i = 0; i < std::min(kProblemsLogged, loaded.problems.size()); ++i) {
    log::warn("event=dataset_row_skipped problem=\"", loaded.problems[i], "\"");
  }
  if (split.rows_too_long > 0) {
    log::warn("event=dataset_rows_too_long count=", split.rows_too_long, " first_line=", split.too_long_lines.front(),
              " limit_tokens=", max_prompt_tokens);
  }
  CARAVAN_RETURN_IF_ERROR(run_dir.append_jsonl(run_dir.metrics_path(), {{"phase", "dataset"},
                                                                        {"file", file},
                                                                        {"rows_read", loaded.rows_read},
                                                                        {"rows_skipped", loaded.rows_skipped},
                                                                        {"skipped_problems", loaded.problems},
                                                                        {"rows_too_long", split.rows_too_long},
                                                                        {"too_long_lines", split.too_long_lines},
                                                                        {"training_rows", split.training_rows},
                                                                        {"held_out_rows", split.held_out_rows}}));
  if (split.training_rows < config.grpo.prompts_per_step) {
    return Status::invalid_argument(str_cat(file, ": ", split.training_rows,
                                            " training rows are fewer than [grpo] prompts_per_step = ",
                                            config.grpo.prompts_per_step));
  }
  return std::unique_ptr<core::PromptSource>(std::move(prompts));
}

// The run's prompts per [task] kind, encoded by the model's prompt encoder.
Result<std::unique_ptr<core::PromptSource>> open_prompts(const RunConfig& config,
                                                         const core::RunDirectory& run_dir,
                                                         const model::ModelSpec& spec) {
  if (config.task.kind == "rlvr") return open_rlvr_prompts(config, run_dir, spec);
  CARAVAN_ASSIGN_OR_RETURN(core::ArithmeticTask task, core::ArithmeticTask::create(config.task));
  return std::unique_ptr<core::PromptSource>(std::make_unique<core::ArithmeticPromptSource>(
      std::move(task), config.run.seed, config.verifier.name, config.task.kind, spec.prompts->as_encode_fn()));
}

Status run_controller(const RunConfig& config, zmq::context_t& context, std::stop_token stop) {
  CARAVAN_ASSIGN_OR_RETURN(core::RunDirectory run_dir, core::RunDirectory::open(config.run.directory));
  CARAVAN_ASSIGN_OR_RETURN(const model::ModelSpec spec, model::open_model(config.model));
  CARAVAN_ASSIGN_OR_RETURN(std::unique_ptr<core::PromptSource> prompts, open_prompts(config, run_dir, spec));
  CARAVAN_ASSIGN_OR_RETURN(auto router,
                           core::Channel::bind(context, str_cat("tcp://", config.cluster.host, ":",
                                                                config.cluster.controller_port), {}));
  auto registry = std::make_shared<metrics::Registry>();
  controller::ChannelLink link(*router);
  controller::Controller controller(controller_options(config), link, run_dir, *prompts, *spec.tokenizer, *registry);
  // Live and ready while the event loop turns: workers reach the controller through its
  // address, so its readiness must not wait for them.
  CARAVAN_ASSIGN_OR_RETURN(const auto endpoint, metrics_endpoint(config, MetricsProcess::kController, 0,
                                                                 advertised_host(config), read_metrics_environment()));
  const auto live = [&controller] { return controller.live(); };
  CARAVAN_ASSIGN_OR_RETURN(const auto exposer,
                           start_metrics_endpoint(endpoint, MetricsProcess::kController, registry, live, live));
  // A silent worker on this machine is killed, so the launcher restarts it.
  controller.set_silent_worker_handler([&](const std::string& worker, const controller::WorkerState& state) {
    if (state.host != advertised_host(config) || state.pid == 0) return;
    log::warn("event=kill_silent_worker worker=", worker, " pid=", state.pid);
    ::kill(static_cast<pid_t>(state.pid), SIGKILL);
  });
  return controller.run(stop);
}

Status serve_rollout(const RunConfig& config, core::WorkerSession& session, metrics::Registry& registry) {
  const std::stop_token stop = session.stop_token();
  const auto transport = make_weight_transport(config, nullptr, stop);
  CARAVAN_ASSIGN_OR_RETURN(const model::ModelSpec spec, model::open_model(config.model));
  // The first SyncWeights installs the learner's weights before any request.
  CARAVAN_ASSIGN_OR_RETURN(model::Llama policy, model::load_model(spec, config.run.seed));
  const rollout::EngineOptions engine{.kv_cache_bytes = config.rollout.kv_cache_bytes,
                                      .kv_cache_fraction = config.rollout.kv_cache_fraction,
                                      .block_size = config.rollout.kv_block_size,
                                      .max_step_tokens = config.rollout.max_step_tokens,
                                      .max_running = config.rollout.max_running_sequences};
  rollout::RolloutMetrics metrics(registry);
  rollout::RolloutActor actor(std::move(policy), *transport, session.outbox(),
                              {.stop_ids = spec.prompts->stop_ids(),
                               .token_text = std::make_shared<const rollout::TokenText>(
                                   rollout::TokenText::from_tokenizer(*spec.tokenizer)),
                               .engine = engine,
                               .metrics = &metrics});
  return serve_until_end(session, actor, config);
}

Status run_rollout(const RunConfig& config, uint32_t rank, zmq::context_t& context, std::stop_token stop) {
  CARAVAN_ASSIGN_OR_RETURN(auto session, connect_session(config, context, proto::Role::ROLLOUT, rank, stop));
  CARAVAN_ASSIGN_OR_RETURN(const WorkerEndpoint endpoint,
                           serve_worker_metrics(config, MetricsProcess::kRollout, rank, *session));
  return prefer_session_end(*session, serve_rollout(config, *session, *endpoint.registry));
}

// The code verifier's settings for verifier `rank`: each verifier process of a host gets its
// own range of sandbox uids, so their process-count limits never add up.
rewards::code::CodeVerifierOptions code_verifier_options(const RunConfig& config, uint32_t rank) {
  rewards::code::CodeVerifierOptions options;
  options.deadline = core::seconds_to_ms(config.verifier.code_deadline_s);
  options.warm_pool_size = static_cast<int>(config.verifier.code_warm_sandboxes);
  options.sandbox_uid_first += rank * options.sandbox_uid_count;
  return options;
}

Status serve_verifier(const RunConfig& config, uint32_t rank, const SignalStopper& signals,
                      core::WorkerSession& session, metrics::Registry& metrics_registry) {
  const rewards::VerifierRegistry registry = rewards::make_default_registry(code_verifier_options(config, rank));
  rewards::VerifierMetrics verifier_metrics(metrics_registry);
  std::unique_ptr<rewards::RewardConfigWatcher> reward_config;
  if (!config.verifier.reward_config.empty()) {
    CARAVAN_ASSIGN_OR_RETURN(reward_config, rewards::RewardConfigWatcher::open(config.verifier.reward_config,
                                                                               rewards::verifiers_known_to(registry)));
    log::info("event=reward_config file=", config.verifier.reward_config,
              " version=", reward_config->current()->version);
    verifier_metrics.set_reward_config(reward_config->current()->version);
  }
  const int64_t threads = config.verifier.threads > 0 ? config.verifier.threads : config.run.threads_per_process;
  rewards::VerifierPool pool(registry, verifier_metrics,
                             {.threads = static_cast<int>(threads),
                              .queue_capacity = static_cast<size_t>(config.verifier.queue_capacity)});
  rewards::VerifierWorker worker(pool, reward_config.get());
  // A request is scored under the reward config in force when it arrives: pick up an edited
  // file (or a SIGHUP) first. A broken file is reported and the previous config stays.
  uint64_t hangups_seen = 0;
  const auto refresh_reward_config = [&] {
    if (reward_config == nullptr) return;
    if (const uint64_t hangups = signals.hangups(); hangups != hangups_seen) {
      hangups_seen = hangups;
      reward_config->request_reload();
    }
    const Result<bool> changed = reward_config->maybe_reload();
    if (!changed.ok()) {
      log::error("event=reward_config_rejected file=", config.verifier.reward_config, " reason=\"",
                 changed.status().message(), "\" kept_version=", reward_config->current()->version);
    } else if (*changed) {
      log::info("event=reward_config_reloaded file=", config.verifier.reward_config,
                " version=", reward_config->current()->version);
      verifier_metrics.set_reward_config(reward_config->current()->version);
    }
  };
  rewards::VerifierRole role(worker, session.outbox(), refresh_reward_config);
  return serve_until_end(session, role, config);
}

Status run_verifier(const RunConfig& config, uint32_t rank, const SignalStopper& signals,
                    zmq::context_t& context) {
  CARAVAN_ASSIGN_OR_RETURN(auto session,
                           connect_session(config, context, proto::Role::VERIFIER, rank, signals.token()));
  CARAVAN_ASSIGN_OR_RETURN(const WorkerEndpoint endpoint,
                           serve_worker_metrics(config, MetricsProcess::kVerifier, rank, *session));
  return prefer_session_end(*session, serve_verifier(config, rank, signals, *session, *endpoint.registry));
}

// `ranks_store`: the learner ranks' store rank 0 serves; null for a single learner.
Status serve_learner(const RunConfig& config, const std::optional<core::ArithmeticTask>& sft_task,
                     std::shared_ptr<wsync::RendezvousStore> store, std::shared_ptr<wsync::RendezvousStore> ranks_store,
                     core::WorkerSession& session, metrics::Registry& registry) {
  CARAVAN_ASSIGN_OR_RETURN(core::RunDirectory run_dir, core::RunDirectory::open(config.run.directory));
  const std::stop_token stop = session.stop_token();
  const auto transport = make_weight_transport(config, std::move(store), stop);
  CARAVAN_ASSIGN_OR_RETURN(const model::ModelSpec spec, model::open_model(config.model));
  CARAVAN_ASSIGN_OR_RETURN(model::Llama policy, model::load_model(spec, config.run.seed));
  std::unique_ptr<LearnerGroup> group;
  if (ranks_store != nullptr) {
    CARAVAN_ASSIGN_OR_RETURN(group, join_learner_group(config, 0, ranks_store, stop));
  }
  learner::LearnerMetrics metrics(registry);
  learner::LearnerWorker worker(learner_options(config), spec, policy, *transport, sft_task ? &*sft_task : nullptr,
                                run_dir, stop, &metrics, group != nullptr ? &group->ranks : nullptr);
  // SFT stages and training steps run on the role's work thread; heartbeats go on meanwhile.
  core::SerialRole role(
      [&](const proto::Envelope::Reader& message) -> Result<core::Outbox::Message> {
        return guarded([&] { return worker.handle(message); });
      },
      [&] { return worker.policy_version(); }, session.outbox());
  const Status served = serve_until_end(session, role, config);
  if (group != nullptr) {
    // The role's thread has stopped: this thread may use the group now.
    if (const Status stopped = group->commands.send_stop(); !stopped.ok()) {
      log::warn("event=learner_ranks_not_stopped reason=\"", stopped.to_string(), "\"");
    }
  }
  return served;
}

// Learner rank 1.. of [learner] ranks: trains its share of every TrainBatch rank 0 forwards until
// rank 0 says stop; it has no controller session, no weight sync and no metrics endpoint.
Status run_learner_rank(const RunConfig& config, uint32_t rank, std::stop_token stop) {
  CARAVAN_ASSIGN_OR_RETURN(core::RunDirectory run_dir, core::RunDirectory::open(config.run.directory));
  CARAVAN_ASSIGN_OR_RETURN(const model::ModelSpec spec, model::open_model(config.model));
  CARAVAN_ASSIGN_OR_RETURN(model::Llama policy, model::load_model(spec, config.run.seed));
  CARAVAN_ASSIGN_OR_RETURN(std::shared_ptr<wsync::RendezvousStore> store,
                           wsync::RendezvousStore::connect(config.cluster.host,
                                                           static_cast<int>(config.learner.rendezvous_port),
                                                           collective_timeout(config), stop));
  CARAVAN_ASSIGN_OR_RETURN(std::unique_ptr<LearnerGroup> group, join_learner_group(config, rank, store, stop));
  // Never used: rank 0 alone sends the weights.
  const auto transport = make_weight_transport(config, nullptr, stop);
  learner::LearnerWorker worker(learner_options(config), spec, policy, *transport, /*sft_task=*/nullptr, run_dir,
                                stop, /*metrics=*/nullptr, &group->ranks);
  while (true) {
    CARAVAN_ASSIGN_OR_RETURN(std::optional<core::ReceivedMessage> command, group->commands.receive(stop));
    if (!command) return Status();
    CARAVAN_RETURN_IF_ERROR(guarded([&] { return worker.handle(command->envelope()); }).status());
  }
}

Status run_learner(const RunConfig& config, zmq::context_t& context, std::stop_token stop) {
  // SFT examples exist only for the arithmetic task (config checks that RLVR runs skip SFT).
  std::optional<core::ArithmeticTask> sft_task;
  if (config.task.kind == "arithmetic") {
    CARAVAN_ASSIGN_OR_RETURN(sft_task, core::ArithmeticTask::create(config.task));
  }
  CARAVAN_ASSIGN_OR_RETURN(std::shared_ptr<wsync::RendezvousStore> store, serve_weight_sync_store(config));
  std::shared_ptr<wsync::RendezvousStore> ranks_store;
  if (config.learner.ranks > 1) {
    CARAVAN_ASSIGN_OR_RETURN(ranks_store, wsync::RendezvousStore::serve(advertised_host(config),
                                                                        static_cast<int>(config.learner.rendezvous_port),
                                                                        collective_timeout(config)));
  }
  CARAVAN_ASSIGN_OR_RETURN(auto session, connect_session(config, context, proto::Role::LEARNER, 0, stop,
                                                         static_cast<uint32_t>(store->port())));
  CARAVAN_ASSIGN_OR_RETURN(const WorkerEndpoint endpoint,
                           serve_worker_metrics(config, MetricsProcess::kLearner, 0, *session));
  return prefer_session_end(*session, serve_learner(config, sft_task, std::move(store), std::move(ranks_store),
                                                    *session, *endpoint.registry));
}

Result<proto::Role> parse_role(const std::string& name) {
  for (proto::Role role : {proto::Role::CONTROLLER, proto::Role::ROLLOUT, proto::Role::VERIFIER, proto::Role::LEARNER}) {
    if (name == core::role_name(role)) return role;
  }
  return Status::invalid_argument(str_cat("--role: unknown role '", name,
                                          "'; expected controller, rollout, verifier or learner"));
}

// `debug_log` receives this process's log in the run directory (RUN_DIR/logs/ROLE-RANK.log); the
// caller keeps it until its last line is logged.
Status run_worker(const std::string& role_name, const std::string& rank_text, const std::string& config_path,
                  SignalStopper& signals, std::unique_ptr<ProcessLog>& debug_log, char** argv) {
  const std::stop_token stop = signals.token();
  CARAVAN_ASSIGN_OR_RETURN(proto::Role role, parse_role(role_name));
  uint32_t rank = 0;
  try {
    rank = static_cast<uint32_t>(std::stoul(rank_text));
  } catch (const std::exception&) {
    return Status::invalid_argument(str_cat("--rank: expected a non-negative integer, got '", rank_text, "'"));
  }
  log::set_context(str_cat("role=", role_name, " rank=", rank));
  CARAVAN_ASSIGN_OR_RETURN(RunConfig config, load_run_config(config_path));
  // Before LibTorch's first parallel region; re-executes this worker once when the environment
  // lacks the policy (`caravan run` sets it for its workers).
  CARAVAN_RETURN_IF_ERROR(core::ensure_thread_wait(config.run.thread_wait, argv));
  if (config.run.directory.empty() || config.cluster.controller_port == 0) {
    return Status::invalid_argument(str_cat(config_path, ": not a resolved config (run.directory and "
                                            "cluster.controller_port must be set); start runs with `caravan run`"));
  }
  // The debug log lives in the run directory; a worker whose directory is not there (yet) still
  // serves, and says so.
  if (Result<core::RunDirectory> run_dir = core::RunDirectory::open(config.run.directory); run_dir.ok()) {
    CARAVAN_ASSIGN_OR_RETURN(debug_log, ProcessLog::open(run_dir->log_path(str_cat(role_name, "-", rank))));
  } else {
    log::warn("event=no_debug_log reason=\"", run_dir.status().message(), "\"");
  }
  // A job-wide SIGTERM must not take a serving role away before the controller has checkpointed.
  if (role != proto::Role::CONTROLLER) {
    signals.keep_serving_after_first_signal(
        core::seconds_to_ms(config.supervision.sigterm_grace_s));
  }
  const int64_t threads = core::intra_op_threads(compute_sharing(config), role, core::available_cores());
  at::set_num_threads(static_cast<int>(threads));
  log::info("event=threads intra_op=", threads, " cores=", core::available_cores(),
            " wait=", core::enum_name(config.run.thread_wait));
  zmq::context_t context;
  switch (role) {
    case proto::Role::CONTROLLER: return run_controller(config, context, stop);
    case proto::Role::ROLLOUT: return run_rollout(config, rank, context, stop);
    case proto::Role::VERIFIER: return run_verifier(config, rank, signals, context);
    case proto::Role::LEARNER:
      if (rank >= config.learner.ranks) {
        return Status::invalid_argument(str_cat("--rank ", rank, ": the run has [learner] ranks = ", config.learner.ranks));
      }
      return rank == 0 ? run_learner(config, context, stop) : run_learner_rank(config, rank, stop);
  }
  return Status::internal("unreachable role");
}

}  // namespace

int worker_command(int argc, char** argv) {
  core::CommandLine cli("caravan worker", "Run one process of a run: the controller, a rollout actor, a verifier or the learner.\n"
                            "`caravan run` starts these; cluster launchers (srun, pods) start one per process and set\n"
                            "CARAVAN_HOST to the address other nodes reach this one at (default: [cluster] host).\n"
                            "SIGTERM: the controller checkpoints and exits; other roles keep serving until it is done\n"
                            "([supervision] sigterm_grace_s). SIGINT stops at once.");
  cli.flag("--role", "ROLE", "controller | rollout | verifier | learner (required)");
  cli.flag("--rank", "N", "rank within the role, 0-based (default 0)");
  cli.flag("--config", "FILE", "resolved run configuration, i.e. RUN_DIR/config.toml (required)");
  if (std::optional<int> exit_code = cli.parse_or_exit(argc, argv, /*first=*/2)) return *exit_code;
  if (!cli.value("--role") || !cli.value("--config")) {
    std::cerr << "caravan worker: --role and --config are required (see --help)\n";
    return 2;
  }
  SignalStopper stopper;
  std::unique_ptr<ProcessLog> debug_log;
  Status status;
  try {
    status = run_worker(*cli.value("--role"), cli.value("--rank").value_or("0"), *cli.value("--config"), stopper,
                        debug_log, argv);
  } catch (const std::exception& e) {
    // The last boundary: whatever escaped a role is reported with its reason, not an abort.
    status = Status::internal(str_cat("unhandled exception: ", e.what()));
  }
  if (status.code() == StatusCode::kCancelled) {
    log::warn("event=worker_stopped reason=\"", status.message(), "\"");
    return 130;
  }
  if (!status.ok()) {
    log::error("event=worker_failed reason=\"", status.to_string(), "\"");
    return 1;
  }
  return 0;
}

} // namespace caravan::apps
