#include "actors/controller/controller.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>

#include "core/append_only_file.h"
#include "core/atomic_file.h"
#include "core/capnp_lists.h"
#include "core/checkpoints.h"
#include "core/log.h"
#include "core/seconds.h"
#include "core/read_file.h"
#include "core/reward_record.h"
#include "core/worker_session.h"

namespace caravan::controller {
namespace {

// Attempts at one weight sync, each with a re-formed group, before the run fails.
constexpr int kSyncAttempts = 5;

double seconds_between(Clock::time_point from, Clock::time_point to) {
  return std::chrono::duration<double>(to - from).count();
}

std::string percent(double fraction) {
  char text[32];
  std::snprintf(text, sizeof(text), "%.1f%%", 100.0 * fraction);
  return text;
}

std::unique_ptr<capnp::MallocMessageBuilder> new_message() {
  auto message = std::make_unique<capnp::MallocMessageBuilder>();
  message->initRoot<proto::Envelope>();
  return message;
}

}  // namespace

std::vector<std::string> expected_workers(const ControllerOptions& config) {
  std::vector<std::string> workers{core::worker_identity(proto::Role::LEARNER, 0)};
  for (int64_t r = 0; r < config.rollout.actors; ++r) {
    workers.push_back(core::worker_identity(proto::Role::ROLLOUT, static_cast<uint32_t>(r)));
  }
  for (int64_t r = 0; r < config.verifier_workers; ++r) {
    workers.push_back(core::worker_identity(proto::Role::VERIFIER, static_cast<uint32_t>(r)));
  }
  return workers;
}

Controller::Controller(ControllerOptions config, WorkerLink& link, const core::RunDirectory& run_dir,
                       core::PromptSource& prompts, const model::Tokenizer& tokenizer, metrics::Registry& registry)
    : config_(config),
      link_(link),
      run_dir_(run_dir),
      prompts_(prompts),
      tokenizer_(tokenizer),
      policy_(config.pipeline, config.grpo.prompts_per_step),
      dynamic_sampler_(config.grpo.dynamic_sampling, config.grpo.prompts_per_step),
      roster_(expected_workers(config), core::seconds_to_ms(config.cluster.heartbeat_timeout_s)),
      training_(static_cast<uint32_t>(config.grpo.group_size)),
      metrics_(registry, config.grpo.steps),
      loop_(core::seconds_to_ms(config.cluster.heartbeat_timeout_s)) {
  training_.temperature = config.rollout.temperature;
  training_.top_p = config.rollout.top_p;
}

Status Controller::run(std::stop_token stop) {
  stop_ = std::move(stop);
  Status status = run_phases();
  loop_.finish();
  publish_metrics();
  const std::string reason = status.ok() ? "run complete" : status.message();
  for (const std::string& worker : expected_workers(config_)) {
    capnp::MallocMessageBuilder message;
    message.initRoot<proto::Envelope>().initShutdown().setReason(reason);
    (void)link_.send(worker, message);  // best effort: a lost worker exits on its own
  }
  return status;
}

// ---------------------------------------------------------------------------------------------
// Phases

Status Controller::run_phases() {
  CARAVAN_RETURN_IF_ERROR(await_workers());
  CARAVAN_ASSIGN_OR_RETURN(const bool resumed, resume_from_checkpoint());
  if (!resumed) CARAVAN_RETURN_IF_ERROR(warm_up());
  CARAVAN_RETURN_IF_ERROR(sync_weights());
  if (!sft_accuracy_) {
    CARAVAN_ASSIGN_OR_RETURN(const double accuracy, evaluate("sft"));
    sft_accuracy_ = accuracy;
  }
  CARAVAN_RETURN_IF_ERROR(run_rl_steps());
  CARAVAN_ASSIGN_OR_RETURN(const double rl_accuracy, evaluate("rl"));
  log::result(str_cat("held-out accuracy ", config_.sft_steps > 0 ? "after SFT" : "before RL", ": ",
                      percent(*sft_accuracy_)));
  log::result(str_cat("held-out accuracy after RL: ", percent(rl_accuracy)));
  return export_final_model();
}

Status Controller::await_workers() {
  const Clock::time_point deadline = link_.now() + core::seconds_to_ms(config_.cluster.connect_timeout_s);
  while (!roster_.never_joined().empty()) {
    if (link_.now() > deadline) {
      std::string missing;
      for (const std::string& worker : roster_.never_joined()) missing += str_cat(missing.empty() ? "" : ", ", worker);
      return Status::timeout(str_cat("workers did not connect within ", config_.cluster.connect_timeout_s,
                                     " s ([cluster] connect_timeout_s): ", missing));
    }
    CARAVAN_RETURN_IF_ERROR(check_stop());
    CARAVAN_RETURN_IF_ERROR(pump(kLoopTick));
  }
  log::info("event=all_workers_connected workers=", expected_workers(config_).size());
  return Status();
}

Status Controller::warm_up() {
  const Clock::time_point started = link_.now();
  log::info("event=sft_start steps=", config_.sft_steps);
  auto request = new_message();
  request->getRoot<proto::Envelope>().initSftRequest().setSteps(static_cast<uint32_t>(config_.sft_steps));
  CARAVAN_ASSIGN_OR_RETURN(core::ReceivedMessage reply, call_learner(std::move(request), config_.deadlines.sft_s));
  if (!reply.envelope().isTrainResult()) return Status::invalid_argument("learner answered SftRequest without TrainResult");
  const auto result = reply.envelope().getTrainResult();
  policy_version_ = result.getPolicyVersion();
  const double seconds = seconds_between(started, link_.now());
  log::info("event=sft_done steps=", config_.sft_steps, " loss=", result.getLoss(), " policy_version=", policy_version_,
            " seconds=", seconds);
  return append_metrics({{"phase", "sft"},
                         {"steps", config_.sft_steps},
                         {"loss", result.getLoss()},
                         {"policy_version", policy_version_},
                         {"seconds", seconds}});
}

Result<bool> Controller::resume_from_checkpoint() {
  CARAVAN_ASSIGN_OR_RETURN(std::optional<core::CommittedCheckpoint> checkpoint,
                           core::latest_committed_checkpoint(run_dir_));
  if (!checkpoint) return false;
  const std::filesystem::path state_file = checkpoint->dir / kControllerStateFile;
  CARAVAN_ASSIGN_OR_RETURN(const std::string text, core::read_file(state_file, "controller checkpoint state"));
  try {
    const nlohmann::json state = nlohmann::json::parse(text);
    CARAVAN_ASSIGN_OR_RETURN(training_.ledger,
                             Ledger::from_json(state.at("ledger"), static_cast<uint32_t>(config_.grpo.group_size)));
    trained_steps_ = state.at("step").get<int64_t>();
    synced_steps_ = trained_steps_;
    next_draw_ = state.at("next_draw").get<uint64_t>();
    policy_version_ = state.at("policy_version").get<uint64_t>();
    if (state.contains("sft_accuracy")) sft_accuracy_ = state.at("sft_accuracy").get<double>();
    // Absent from checkpoints of runs without dynamic sampling (and written before it existed).
    if (state.contains("dynamic_sampling")) {
      CARAVAN_RETURN_IF_ERROR(dynamic_sampler_.restore(state.at("dynamic_sampling")).with_context(state_file.string()));
    }
    CARAVAN_RETURN_IF_ERROR(
        core::truncate_file(run_dir_.metrics_path(), state.at("files").at("metrics").get<uint64_t>()));
    CARAVAN_RETURN_IF_ERROR(
        core::truncate_file(run_dir_.samples_path("train"), state.at("files").at("train_samples").get<uint64_t>()));
  } catch (const nlohmann::json::exception& e) {
    return Status::invalid_argument(str_cat(state_file.string(), ": ", e.what()));
  }
  for (uint64_t key : training_.ledger.ready_groups()) {
    for (LedgerSample& sample : training_.ledger.mutable_group(key).samples) {
      CARAVAN_ASSIGN_OR_RETURN(sample.generated.text, model::decode_generated(tokenizer_, sample.generated.tokens));
    }
  }
  auto request = new_message();
  request->getRoot<proto::Envelope>().initRestoreCheckpoint().setDirectory(checkpoint->dir.string());
  CARAVAN_ASSIGN_OR_RETURN(core::ReceivedMessage reply, call_learner(std::move(request), config_.deadlines.checkpoint_s));
  if (!reply.envelope().isCheckpointRestored()) {
    return Status::invalid_argument("learner answered RestoreCheckpoint without CheckpointRestored");
  }
  const auto restored = reply.envelope().getCheckpointRestored();
  if (restored.getPolicyVersion() != policy_version_ || static_cast<int64_t>(restored.getStep()) != trained_steps_) {
    return Status::data_loss(str_cat(checkpoint->dir.string(), ": the learner restored step ", restored.getStep(),
                                     " version ", restored.getPolicyVersion(), " but ", kControllerStateFile,
                                     " says step ", trained_steps_, " version ", policy_version_));
  }
  log::info("event=resumed checkpoint=", checkpoint->dir.string(), " step=", trained_steps_,
            " policy_version=", policy_version_, " next_draw=", next_draw_,
            " buffered_groups=", training_.ledger.ready_groups().size(), " requeued_groups=",
            training_.ledger.size() - training_.ledger.ready_groups().size());
  CARAVAN_RETURN_IF_ERROR(append_metrics({{"phase", "resume"},
                                          {"checkpoint", checkpoint->dir.string()},
                                          {"step", trained_steps_},
                                          {"policy_version", policy_version_}}));
  return true;
}

Status Controller::sync_weights() {
  CARAVAN_CHECK(!syncing_, "weight sync re-entered");
  syncing_ = true;
  struct Reset {
    bool& flag;
    ~Reset() { flag = false; }
  } reset{syncing_};
  Status last_failure;
  for (int attempt = 1; attempt <= kSyncAttempts; ++attempt) {
    std::vector<std::pair<std::string, uint64_t>> members{{learner(), roster_.state(learner()).incarnation}};
    for (const std::string& actor : roster_.alive_with_role(proto::Role::ROLLOUT)) {
      members.emplace_back(actor, roster_.state(actor).incarnation);
    }
    if (members != group_members_ || !last_failure.ok()) {
      ++group_generation_;
      group_members_ = members;
      log::info("event=weight_group_formed generation=", group_generation_, " members=", members.size());
    }
    const Clock::time_point started = link_.now();
    std::vector<std::pair<std::string, std::unique_ptr<capnp::MallocMessageBuilder>>> requests;
    for (uint32_t rank = 0; rank < members.size(); ++rank) {
      auto message = new_message();
      auto sync = message->getRoot<proto::Envelope>().initSyncWeights();
      sync.setPolicyVersion(policy_version_);
      auto group = sync.initGroup();
      group.setGeneration(group_generation_);
      group.setRank(rank);
      group.setWorldSize(static_cast<uint32_t>(members.size()));
      // The rendezvous is the learner's, where its Hello said (roles may run on other hosts).
      group.setStoreHost(roster_.state(learner()).host);
      group.setStorePort(roster_.state(learner()).service_port);
      requests.emplace_back(members[rank].first, std::move(message));
    }
    // Announced from here on: an actor may tag samples with it as soon as it installed it.
    announced_versions_.insert(policy_version_);
    Result<std::vector<core::ReceivedMessage>> replies =
        call_all(std::move(requests), config_.deadlines.weight_sync_s, RequestKind::kSync);
    if (replies.ok()) {
      for (size_t i = 0; i < replies->size(); ++i) {
        const uint64_t got = (*replies)[i].envelope().getWeightsSynced().getPolicyVersion();
        if (got != policy_version_) {
          return Status::internal(str_cat(members[i].first, " reports policy version ", got, " after the sync of version ",
                                          policy_version_));
        }
        if (i > 0) actor_weights_incarnation_[members[i].first] = members[i].second;
      }
      last_sync_s_ = seconds_between(started, link_.now());
      const auto learner_synced = replies->front().envelope().getWeightsSynced();
      const double transfer_seconds = learner_synced.getSeconds();
      const auto bytes = static_cast<double>(learner_synced.getBytes());
      const auto full_bytes = static_cast<double>(learner_synced.getFullBytes());
      last_weight_sync_ = {{"transfer_seconds", transfer_seconds},
                           {"bytes", learner_synced.getBytes()},
                           {"full_bytes", learner_synced.getFullBytes()},
                           {"gb_per_s", transfer_seconds > 0 ? bytes / transfer_seconds / 1e9 : 0.0},
                           {"delta_ratio", full_bytes > 0 ? bytes / full_bytes : 1.0},
                           {"buckets", learner_synced.getBuckets()},
                           {"bucket_seconds_max", learner_synced.getBucketSecondsMax()},
                           {"sent_as", learner_synced.getSentAs().cStr()},
                           {"failures", learner_synced.getFailures()}};
      log::debug("event=weights_synced policy_version=", policy_version_, " generation=", group_generation_,
                 " seconds=", last_sync_s_);
      return Status();
    }
    if (replies.status().code() == StatusCode::kCancelled || !roster_.alive(learner())) return replies.status();
    last_failure = replies.status();
    ++counters_.sync_failures;
    log::warn("event=weight_sync_failed attempt=", attempt, " generation=", group_generation_, " reason=\"",
              last_failure.message(), "\"");
    // Let lost members be noticed (a heartbeat interval) before the group is formed again.
    const Clock::time_point settle = link_.now() + core::seconds_to_ms(config_.cluster.heartbeat_interval_s);
    while (link_.now() < settle) CARAVAN_RETURN_IF_ERROR(pump(kLoopTick));
  }
  return last_failure.with_context(str_cat("weight sync failed ", kSyncAttempts, " times"));
}

Result<double> Controller::evaluate(const std::string& label) {
  const Clock::time_point started = link_.now();
  const auto& held_out = prompts_.held_out();
  evaluation_ = std::make_unique<WorkStream>(1);  // greedy: one sample per prompt
  for (uint64_t key = 0; key < held_out.size(); ++key) evaluation_->ledger.add(key);
  const Clock::time_point deadline = started + core::seconds_to_ms(config_.deadlines.evaluation_s);
  while (evaluation_->ledger.ready_groups().size() < held_out.size()) {
    if (link_.now() > deadline) {
      return Status::timeout(str_cat("held-out evaluation '", label, "' did not finish within ",
                                     config_.deadlines.evaluation_s, " s ([deadlines] evaluation_s)"));
    }
    CARAVAN_RETURN_IF_ERROR(check_stop());
    if (actors_await_weights()) CARAVAN_RETURN_IF_ERROR(sync_weights());
    CARAVAN_RETURN_IF_ERROR(pump(kLoopTick));
  }
  std::vector<uint64_t> keys = evaluation_->ledger.ready_groups();
  int64_t correct = 0;
  for (uint64_t key : keys) {
    correct += evaluation_->ledger.group(key).samples.front().reward.status == proto::RewardStatus::OK ? 1 : 0;
  }
  const double accuracy = static_cast<double>(correct) / static_cast<double>(keys.size());
  log::info("event=eval phase=", label, " problems=", keys.size(), " accuracy=", accuracy,
            " policy_version=", policy_version_, " seconds=", seconds_between(started, link_.now()));
  CARAVAN_RETURN_IF_ERROR(write_samples("eval-" + label, Stream::kEvaluation, keys, nullptr));
  evaluation_.reset();
  CARAVAN_RETURN_IF_ERROR(append_metrics({{"phase", "eval-" + label},
                                          {"held_out_accuracy", accuracy},
                                          {"problems", keys.size()},
                                          {"policy_version", policy_version_}}));
  return accuracy;
}

Status Controller::run_rl_steps() {
  rl_started_ = link_.now();
  while (trained_steps_ < config_.grpo.steps) {
    if (stop_.stop_requested()) break;
    const Clock::time_point waiting = link_.now();
    Result<std::vector<uint64_t>> batch = wait_for_batch();
    learner_wait_s_ += seconds_between(waiting, link_.now());
    if (batch.status().code() == StatusCode::kCancelled && !fatal_.ok()) return fatal_;
    if (batch.status().code() == StatusCode::kCancelled) break;
    CARAVAN_RETURN_IF_ERROR(batch.status());
    const uint64_t version_before = policy_version_;
    CARAVAN_RETURN_IF_ERROR(train(*batch));
    if (stop_.stop_requested()) break;
    // A step without an update (nothing informative) leaves the actors' weights current.
    if (policy_version_ != version_before) CARAVAN_RETURN_IF_ERROR(sync_weights());
    synced_steps_ = trained_steps_;
    const bool periodic = config_.grpo.checkpoint_every > 0 && trained_steps_ % config_.grpo.checkpoint_every == 0;
    if (periodic || trained_steps_ == config_.grpo.steps) CARAVAN_RETURN_IF_ERROR(save_checkpoint());
  }
  if (trained_steps_ == config_.grpo.steps) return Status();
  // Stopped (SIGTERM): keep what was trained.
  CARAVAN_RETURN_IF_ERROR(save_checkpoint());
  return Status::cancelled(str_cat("stopped after step ", trained_steps_, " with checkpoint ",
                                   run_dir_.checkpoint_dir(trained_steps_).string(),
                                   "; resume with: caravan run --resume ", run_dir_.root().string()));
}

Result<std::vector<uint64_t>> Controller::wait_for_batch() {
  while (true) {
    std::vector<uint64_t> batch;
    for (uint64_t key : training_.ledger.ready_groups()) {
      if (batch.size() == dynamic_sampler_.batch_target()) break;
      uint64_t oldest = policy_version_;
      for (const LedgerSample& sample : training_.ledger.group(key).samples) {
        oldest = std::min(oldest, sample.generated.policy_version());
      }
      const StalenessVerdict verdict = policy_.judge(policy_version_ - oldest);
      if (!verdict.train) {
        log::info("event=stale_group_regenerated prompt_key=", key, " staleness=", policy_version_ - oldest);
        training_.ledger.requeue(key, DropReason::kStale);
        continue;
      }
      if (dynamic_sampler_.enabled() && !informative(training_.ledger.group(key))) {
        CARAVAN_RETURN_IF_ERROR(drop_uninformative(key));
        continue;
      }
      batch.push_back(key);
    }
    if (batch.size() == dynamic_sampler_.batch_target()) return batch;
    if (stop_.stop_requested()) return Status::cancelled("stop requested while waiting for a batch");
    if (!fatal_.ok()) return Status::cancelled("fatal error");
    if (actors_await_weights()) CARAVAN_RETURN_IF_ERROR(sync_weights());
    CARAVAN_RETURN_IF_ERROR(pump(kLoopTick));
  }
}

Status Controller::drop_uninformative(uint64_t key) {
  // Recorded before it leaves the ledger, with the step it was drawn into.
  const TrainedBatch dropped{.step = trained_steps_ + 1,
                             .trained_from = policy_version_,
                             .verdicts = {{key, {.train = false, .weight = 0.0f}}},
                             .dropped_as = DropReason::kUninformative};
  CARAVAN_RETURN_IF_ERROR(write_samples("train", Stream::kTraining, {key}, &dropped));
  const float score = training_.ledger.group(key).samples.front().reward.score;
  training_.ledger.drop_group(key, DropReason::kUninformative);
  drawn_prompts_.erase(key);
  const bool refilled = dynamic_sampler_.drop_group();
  log::debug("event=uninformative_group_dropped prompt_key=", key, " score=", score, " refilled=", refilled,
             " step=", trained_steps_ + 1);
  if (!refilled && dynamic_sampler_.mode() == DynamicSampling::kRefill) {
    log::warn("event=dynamic_sampling_capped step=", trained_steps_ + 1, " max_rounds=",
              config_.grpo.dynamic_sampling.max_rounds, " groups=", dynamic_sampler_.batch_target(),
              " action=\"the step trains on fewer than prompts_per_step groups\"");
  }
  return Status();
}

std::string Controller::dynamic_sampling_text(const StepFill& fill) const {
  if (!dynamic_sampler_.enabled()) return "";
  return str_cat(" dropped_groups=", fill.dropped_groups, " refilled_groups=", fill.refilled_groups,
                 fill.capped ? " refill_capped=1" : "");
}

nlohmann::json Controller::dynamic_sampling_record(const StepFill& fill) const {
  return {{"mode", std::string(enum_name(dynamic_sampler_.mode()))},
          {"dropped_groups", fill.dropped_groups},
          {"refilled_groups", fill.refilled_groups},
          {"capped", fill.capped},
          {"dropped_groups_total", dynamic_sampler_.dropped_groups()}};
}

Status Controller::train(const std::vector<uint64_t>& batch) {
  const Clock::time_point started = link_.now();
  const int64_t step = trained_steps_ + 1;
  if (batch.empty()) {
    const StepFill fill = dynamic_sampler_.finish_step();
    trained_steps_ = step;
    publish_metrics();
    log::info(str_cat("step=", step, "/", config_.grpo.steps, " no informative group: no update policy_version=",
                      policy_version_),
              dynamic_sampling_text(fill));
    nlohmann::json record = step_record(step, seconds_between(started, link_.now()));
    record.update({{"groups", 0}, {"update", false}, {"dynamic_sampling", dynamic_sampling_record(fill)}});
    return append_metrics(record);
  }
  TrainedBatch trained_batch;
  trained_batch.step = step;
  trained_batch.trained_from = policy_version_;
  auto request = new_message();
  auto train_batch = request->getRoot<proto::Envelope>().initTrainBatch();
  train_batch.setStep(static_cast<uint64_t>(step));
  auto groups = train_batch.initGroups(static_cast<unsigned>(batch.size()));
  double reward_sum = 0;
  int64_t judged = 0, correct = 0, samples = 0, dropped = 0;
  uint64_t max_staleness = 0;
  for (size_t g = 0; g < batch.size(); ++g) {
    const LedgerGroup& ledger_group = training_.ledger.group(batch[g]);
    const core::TaskPrompt& task_prompt = prompt(Stream::kTraining, batch[g]);
    uint64_t oldest = policy_version_;
    for (const LedgerSample& sample : ledger_group.samples) oldest = std::min(oldest, sample.generated.policy_version());
    max_staleness = std::max(max_staleness, policy_version_ - oldest);
    for (const LedgerSample& sample : ledger_group.samples) {
      metrics_.observe_staleness(policy_version_ - sample.generated.policy_version());
    }
    const StalenessVerdict verdict = policy_.judge(policy_version_ - oldest);
    trained_batch.verdicts[batch[g]] = verdict;
    auto group = groups[static_cast<unsigned>(g)];
    group.setPromptId(batch[g]);
    core::copy_into(group.initPromptTokens(static_cast<unsigned>(task_prompt.tokens.size())), task_prompt.tokens);
    auto members = group.initSamples(static_cast<unsigned>(ledger_group.samples.size()));
    for (size_t s = 0; s < ledger_group.samples.size(); ++s) {
      const LedgerSample& sample = ledger_group.samples[s];
      auto member = members[static_cast<unsigned>(s)];
      const bool trained = sample.state == SampleState::kBuffered;
      if (trained) metrics_.observe_trained_sample(task_prompt, sample);
      member.setReward(sample.reward.score);
      member.setNoReward(!trained);
      member.setWeight(verdict.weight);
      if (verdict.weight < 1.0f) ++counters_.downweighted_samples;
      member.setPolicyVersion(sample.generated.policy_version());
      core::copy_into(member.initTokens(static_cast<unsigned>(sample.generated.tokens.size())), sample.generated.tokens);
      core::copy_into(member.initLogprobs(static_cast<unsigned>(sample.generated.logprobs.size())),
                      sample.generated.logprobs);
      ++samples;
      dropped += trained ? 0 : 1;
      if (sample.reward.trainable) {
        ++judged;
        reward_sum += sample.reward.score;
        correct += sample.reward.status == proto::RewardStatus::OK ? 1 : 0;
      }
    }
  }
  CARAVAN_ASSIGN_OR_RETURN(core::ReceivedMessage reply, call_learner(std::move(request), config_.deadlines.train_step_s));
  if (!reply.envelope().isTrainResult()) return Status::invalid_argument("learner answered TrainBatch without TrainResult");
  const auto result = reply.envelope().getTrainResult();
  policy_version_ = result.getPolicyVersion();
  trained_steps_ = step;
  const StepFill fill = dynamic_sampler_.finish_step();
  CARAVAN_RETURN_IF_ERROR(write_samples("train", Stream::kTraining, batch, &trained_batch));
  for (uint64_t key : batch) {
    training_.ledger.mark_trained(key);
    drawn_prompts_.erase(key);
  }

  publish_metrics();
  const double reward_mean = judged > 0 ? reward_sum / static_cast<double>(judged) : 0.0;
  const double accuracy = static_cast<double>(correct) / static_cast<double>(samples);
  const double seconds = seconds_between(started, link_.now());
  metrics_.record_step(reward_mean, accuracy, seconds);
  char line[400];
  std::snprintf(line, sizeof(line),
                "step=%lld/%lld reward_mean=%.3f accuracy=%.3f unjudged=%lld kl=%.5f loss=%.4f "
                "policy_version=%llu max_staleness=%llu seconds=%.2f sync_round_trip_seconds=%.3f "
                "sync_transfer_seconds=%.3f sync_gb_per_s=%.3f sync_delta_ratio=%.3f",
                static_cast<long long>(step), static_cast<long long>(config_.grpo.steps), reward_mean, accuracy,
                static_cast<long long>(samples - judged), result.getKlMean(), result.getLoss(),
                static_cast<unsigned long long>(policy_version_), static_cast<unsigned long long>(max_staleness),
                seconds, last_sync_s_, last_weight_sync_.value("transfer_seconds", 0.0),
                last_weight_sync_.value("gb_per_s", 0.0),
                last_weight_sync_.value("delta_ratio", 1.0));
  // The terms the run's algorithm choices add, as the learner names them.
  std::string terms_text;
  nlohmann::json terms = nlohmann::json::object();
  for (const auto term : result.getTerms()) {
    terms_text += str_cat(" ", term.getName().cStr(), "=", term.getValue());
    terms[term.getName().cStr()] = term.getValue();
  }
  log::info(line, terms_text, dynamic_sampling_text(fill));
  nlohmann::json record = step_record(step, seconds);
  record.update({{"groups", batch.size()},
                 {"update", true},
                 {"reward_mean", reward_mean},
                 {"accuracy", accuracy},
                 {"unjudged_samples", samples - judged},
                 {"dropped_samples", dropped},
                 {"kl", result.getKlMean()},
                 {"loss", result.getLoss()},
                 {"clip_fraction", result.getClipFraction()},
                 {"terms", terms},
                 {"grad_norm", result.getGradNorm()},
                 {"train_seconds", result.getSeconds()},
                 {"max_staleness", max_staleness},
                 {"sync_round_trip_seconds", last_sync_s_},
                 {"weight_sync", last_weight_sync_}});
  if (dynamic_sampler_.enabled()) record["dynamic_sampling"] = dynamic_sampling_record(fill);
  return append_metrics(record);
}

nlohmann::json Controller::step_record(int64_t step, double seconds) const {
  nlohmann::json ledger_counts = nlohmann::json::object();
  for (const auto& [state, count] : training_.ledger.counts()) ledger_counts[state_name(state)] = count;
  nlohmann::json drops = nlohmann::json::object();
  for (DropReason reason : kAllDropReasons) drops[drop_reason_name(reason)] = training_.ledger.drops(reason);
  return {{"phase", "rl"},
          {"step", step},
          {"policy_version", policy_version_},
          {"dataset_cursor", next_draw_},
          {"ledger", ledger_counts},
          {"drops", drops},
          {"generated_tokens", generated_tokens_},
          {"learner_wait_seconds", learner_wait_s_},
          {"actor_idle_seconds", actor_idle_s_},
          {"rl_seconds", seconds_between(*rl_started_, link_.now())},
          {"ignored_replies", counters_.ignored_replies},
          {"workers_lost", counters_.workers_lost},
          {"worker_restarts", roster_.restarts()},
          {"deadlines_missed", counters_.deadlines_missed},
          {"sync_failures", counters_.sync_failures},
          {"downweighted_samples", counters_.downweighted_samples},
          {"unannounced_versions", counters_.unannounced_versions},
          {"seconds", seconds}};
}

Status Controller::save_checkpoint() {
  std::error_code error;
  if (std::filesystem::exists(run_dir_.checkpoint_dir(trained_steps_) / core::kCheckpointCommitMarker, error)) {
    return Status();  // this step is already saved
  }
  // The controller's state as of now, consistent with the learner's (it is idle).
  const nlohmann::json state = controller_state();
  CARAVAN_ASSIGN_OR_RETURN(const std::filesystem::path dir, core::begin_checkpoint(run_dir_, trained_steps_));
  auto request = new_message();
  auto save = request->getRoot<proto::Envelope>().initSaveCheckpoint();
  save.setStep(static_cast<uint64_t>(trained_steps_));
  save.setDirectory(dir.string());
  CARAVAN_ASSIGN_OR_RETURN(core::ReceivedMessage reply, call_learner(std::move(request), config_.deadlines.checkpoint_s));
  if (!reply.envelope().isCheckpointSaved()) return Status::invalid_argument("learner answered SaveCheckpoint without CheckpointSaved");
  CARAVAN_RETURN_IF_ERROR(core::write_file_atomically(
      dir / kControllerStateFile, state.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)));
  const nlohmann::json manifest = {{"step", trained_steps_},
                                   {"policy_version", policy_version_},
                                   {"parts", {"learner", "controller"}}};
  CARAVAN_RETURN_IF_ERROR(core::commit_checkpoint(dir, manifest.dump(2)));
  log::info("event=checkpoint step=", trained_steps_, " dir=", dir.string());
  return Status();
}

nlohmann::json Controller::controller_state() const {
  nlohmann::json state = {{"step", trained_steps_},
                          {"policy_version", policy_version_},
                          {"next_draw", next_draw_},
                          {"seed", config_.run.seed},
                          {"ledger", training_.ledger.to_json()},
                          {"files",
                           {{"metrics", core::file_size_or_zero(run_dir_.metrics_path())},
                            {"train_samples", core::file_size_or_zero(run_dir_.samples_path("train"))}}}};
  if (sft_accuracy_) state["sft_accuracy"] = *sft_accuracy_;
  if (dynamic_sampler_.enabled()) state["dynamic_sampling"] = dynamic_sampler_.to_json();
  return state;
}

Status Controller::export_final_model() {
  auto request = new_message();
  request->getRoot<proto::Envelope>().initExportModel().setDirectory(kFinalModelDirectory);
  CARAVAN_ASSIGN_OR_RETURN(core::ReceivedMessage reply, call_learner(std::move(request), config_.deadlines.checkpoint_s));
  if (!reply.envelope().isCheckpointSaved()) return Status::invalid_argument("learner answered ExportModel without CheckpointSaved");
  const std::string dir = reply.envelope().getCheckpointSaved().getDirectory();
  log::info("event=final_model dir=", dir, " policy_version=", policy_version_);
  log::result(str_cat("final model: ", dir));
  return Status();
}

} // namespace caravan::controller
