// File: actors/controller/controller.h
// The controller of a run: an event loop over a WorkerLink that keeps the run's work in a
// ledger (actors/controller/ledger.h) and streams it through the workers:
//   - rollout actors get one RolloutRequest per group and return each group when it finishes;
//   - each finished group goes at once to the least loaded verifier;
//   - the learner gets a TrainBatch as soon as [grpo] prompts_per_step groups are scored, then
//     the new weights go to the learner and every rollout actor (installed between decode steps
//     when they are generating);
//   - with [grpo] dynamic_sampling, scored groups whose samples all scored alike leave the step
//     (and are replaced by new prompts under "refill"; dynamic_sampling.h).
// How far generation runs ahead of training is the [pipeline] mode (pipeline_policy.h).
//
// Liveness is apart from work: every worker and the controller heartbeat each other; a worker
// silent for [cluster] heartbeat_timeout_s, disconnected, or restarted (a new Hello) is lost, and
// its unfinished rollout and reward work is queued again for the others; a restarted rollout
// actor joins the next weight-sync group (re-formed with a new generation). Each request has
// the deadline of its kind ([deadlines]). A lost learner ends the run; the last committed
// checkpoint stays in force and the error says how to resume.
//
// Checkpoints are two-phase (core/checkpoints.h): the learner writes its part, the controller
// writes controller_state.json (step, dataset cursor, policy version, ledger, the lengths of
// metrics.jsonl and samples/train.jsonl), then commits. A run directory with a committed
// checkpoint resumes from it: the learner restores its part, the appended files are cut back to
// the checkpoint, buffered groups are kept and unfinished ones generated again. A stop request
// (SIGTERM) finishes the step in progress, checkpoints and returns kCancelled, within
// [supervision] sigterm_grace_s.
//
// Phases: wait for every worker; resume or SFT warm-up; weight sync; held-out evaluation
// (greedy); RL steps; held-out evaluation; the final policy exported as RUN_DIR/final_model;
// shut the workers down. One progress line per step and the result lines ("held-out accuracy
// after SFT: x%").
//
//   ChannelLink link(*router);
//   Controller controller(config, link, run_dir, prompts, tokenizer, *registry);
//   Status status = controller.run(stop);
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <stop_token>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "actors/controller/controller_metrics.h"
#include "actors/controller/controller_options.h"
#include "actors/controller/dynamic_sampling.h"
#include "core/metrics/loop_watch.h"
#include "actors/controller/ledger.h"
#include "actors/controller/pipeline_policy.h"
#include "actors/controller/worker_link.h"
#include "actors/controller/worker_roster.h"
#include "core/run_directory.h"
#include "core/task_prompt.h"
#include "model/tokenizer.h"

namespace caravan::controller {

// Where the run's final policy is exported, relative to the run directory.
inline constexpr const char* kFinalModelDirectory = "final_model";
// The controller's part of a checkpoint directory.
inline constexpr const char* kControllerStateFile = "controller_state.json";

// The worker identities a run expects: learner-0, rollout-0.., verifier-0..
std::vector<std::string> expected_workers(const ControllerOptions& config);


// Owner thread only. Every reference must outlive the controller.
class Controller {
 public:
  // The controller's metrics (controller_metrics.h) are registered in `registry`.
  Controller(ControllerOptions config, WorkerLink& link, const core::RunDirectory& run_dir,
             core::PromptSource& prompts, const model::Tokenizer& tokenizer, metrics::Registry& registry);

  // Called when a worker is declared lost because it fell silent (a hung or frozen process, which
  // no launcher would restart since it has not exited). `caravan worker` kills such a process
  // when it runs on the controller's machine, so the launcher restarts it; a remote one exits by
  // itself once it hears the controller again (it is told to) or never does (its node is gone).
  using SilentWorkerHandler = std::function<void(const std::string& worker, const WorkerState& state)>;
  void set_silent_worker_handler(SilentWorkerHandler handler) { silent_worker_handler_ = std::move(handler); }

  // Runs the whole run and shuts the workers down (also on failure). Errors name the worker or
  // file at fault; kCancelled after a stop request (with the checkpoint it wrote).
  Status run(std::stop_token stop);

  const ControllerCounters& counters() const { return counters_; }

  // For /healthz and /readyz: the event loop turned within [cluster] heartbeat_timeout_s (it
  // does every 50 ms while it runs). Thread-safe.
  bool live() const { return loop_.alive(); }

 private:
  // Longest single wait of the event loop, so stop requests and heartbeats are never late.
  static constexpr std::chrono::milliseconds kLoopTick{50};

  enum class Stream { kTraining, kEvaluation };
  enum class RequestKind { kRollout, kReward, kLearner, kSync };

  // Work on one stream: its ledger and how its prompts are sampled.
  struct WorkStream {
    explicit WorkStream(uint32_t samples_per_prompt) : ledger(samples_per_prompt) {}
    Ledger ledger;
    double temperature = 0;
    double top_p = 1;
  };

  // A request sent and not yet finished.
  struct PendingRequest {
    RequestKind kind = RequestKind::kRollout;
    std::string worker;
    uint64_t incarnation = 0;
    Clock::time_point deadline{};
    Stream stream = Stream::kTraining;
    // Rollout: the groups not yet returned. Reward: the group scored.
    std::set<uint64_t> groups;
    // Kept for a resend after a busy reply (reward requests).
    std::shared_ptr<capnp::MallocMessageBuilder> message;
    std::optional<Clock::time_point> resend_at;
  };
  // What the sample files record of a trained batch.
  struct TrainedBatch {
    // The RL step the groups belong to (the sample files' "step").
    int64_t step = 0;
    // The policy version the learner trained the batch from.
    uint64_t trained_from = 0;
    std::map<uint64_t, StalenessVerdict> verdicts;
    // Set for groups left out of the batch whole (dynamic sampling): the reason their
    // samples are recorded as dropped with.
    std::optional<DropReason> dropped_as;
  };
  // The outcome of a request a phase waits for (learner calls, weight syncs).
  struct AwaitedReply {
    std::optional<core::ReceivedMessage> reply;
    Status failure;
  };

  // --- phases
  Status run_phases();
  Status await_workers();
  Status warm_up();
  Result<bool> resume_from_checkpoint();
  Status sync_weights();
  Result<double> evaluate(const std::string& label);
  Status run_rl_steps();
  Result<std::vector<uint64_t>> wait_for_batch();
  // Trains `batch` as the next step; an empty batch (dynamic sampling dropped every group) makes
  // a step without an update.
  Status train(const std::vector<uint64_t>& batch);
  // Takes the ready group `key` out of the step being filled (dynamic sampling).
  Status drop_uninformative(uint64_t key);
  // The dynamic-sampling part of a step's progress line and metrics row (empty when off).
  std::string dynamic_sampling_text(const StepFill& fill) const;
  nlohmann::json dynamic_sampling_record(const StepFill& fill) const;
  // The run-state fields of step `step`'s metrics.jsonl row (the learner's results and the
  // weight sync before the step aside).
  nlohmann::json step_record(int64_t step, double seconds) const;
  Status save_checkpoint();
  Status export_final_model();

  // --- the event loop
  // Handles at most one message (waiting up to `wait`), then heartbeats, liveness, deadlines and
  // dispatch. Returns the first fatal error of the run.
  Status pump(std::chrono::milliseconds wait);
  // Takes the message: an awaited reply is kept as it is until its caller reads it.
  void handle(core::ReceivedMessage received);
  void on_completion(const std::string& worker, proto::Completion::Reader completion);
  void on_rewards(const std::string& worker, proto::RewardResult::Reader result);
  void on_error(const std::string& worker, proto::ErrorReply::Reader error);
  void on_awaited_reply(uint64_t request_id, core::ReceivedMessage received);
  void on_worker_lost(const std::string& worker, const std::string& why);
  // Ends `request_id` without its reply: its work is queued again, or its waiter fails.
  void fail_request(uint64_t request_id, const std::string& why);
  void send_heartbeats();
  void publish_metrics();
  // Adds the time since the last pump to actor_idle_s_ for every ready actor without work.
  void account_idle_actors();
  void expire_deadlines();
  void dispatch();
  void draw_training_prompts();
  void dispatch_rollouts(Stream stream);
  void dispatch_reward(Stream stream, uint64_t key);
  // Sends and records a request; false when the worker cannot be reached (it is then lost).
  bool send_request(uint64_t request_id, PendingRequest pending, capnp::MallocMessageBuilder& message);

  // Sends one request per (worker, message) and pumps until every reply arrived or one failed.
  Result<std::vector<core::ReceivedMessage>> call_all(
      std::vector<std::pair<std::string, std::unique_ptr<capnp::MallocMessageBuilder>>> requests,
      double deadline_s, RequestKind kind);
  Result<core::ReceivedMessage> call_learner(std::unique_ptr<capnp::MallocMessageBuilder> request, double deadline_s);

  // --- helpers
  WorkStream& stream(Stream which);
  const core::TaskPrompt& prompt(Stream which, uint64_t key);
  std::string learner() const;
  // Rollout actors alive that hold weights of their current incarnation.
  std::vector<std::string> ready_actors() const;
  bool actors_await_weights() const;
  bool draining() const { return grace_deadline_.has_value(); }
  Status check_stop();
  std::optional<DropReason> drop_reason(const GeneratedSample& sample, const SampleReward& reward) const;
  nlohmann::json controller_state() const;
  Status append_metrics(const nlohmann::json& record);
  // `trained` is null for evaluation samples.
  Status write_samples(const std::string& phase, Stream which, const std::vector<uint64_t>& keys,
                       const TrainedBatch* trained);

  const ControllerOptions config_;
  WorkerLink& link_;
  const core::RunDirectory& run_dir_;
  core::PromptSource& prompts_;
  const model::Tokenizer& tokenizer_;
  PipelinePolicy policy_;
  DynamicSampler dynamic_sampler_;
  WorkerRoster roster_;
  std::stop_token stop_;
  std::optional<Clock::time_point> grace_deadline_;
  Status fatal_;

  WorkStream training_;
  std::unique_ptr<WorkStream> evaluation_;
  // Training prompts drawn and not yet trained, by key (the draw index).
  std::map<uint64_t, core::TaskPrompt> drawn_prompts_;
  uint64_t next_draw_ = 0;
  // Groups generated and waiting for a verifier, per stream.
  std::set<std::pair<Stream, uint64_t>> unverified_;

  uint64_t next_request_id_ = 1;
  std::map<uint64_t, PendingRequest> pending_;
  std::map<uint64_t, AwaitedReply> awaited_;

  uint64_t policy_version_ = 0;
  int64_t trained_steps_ = 0;
  // Steps whose weights every rollout actor holds (admission counts these).
  int64_t synced_steps_ = 0;
  // Weight-sync group: its generation and members (worker, incarnation); actors synced in
  // their current incarnation.
  uint64_t group_generation_ = 0;
  std::vector<std::pair<std::string, uint64_t>> group_members_;
  std::map<std::string, uint64_t> actor_weights_incarnation_;
  // Versions that rollout actors may tag samples with: the initial weights (0) and every version
  // a SyncWeights announced.
  std::set<uint64_t> announced_versions_{0};
  // The learner's WeightsSynced of the last successful sync (metrics.jsonl "weight_sync"; its
  // "transfer_seconds" is the learner's own send of the weights).
  nlohmann::json last_weight_sync_ = nlohmann::json::object();
  bool syncing_ = false;
  std::optional<double> sft_accuracy_;
  Clock::time_point next_heartbeat_{};

  // Time accounting for the pipeline benchmark: the learner waiting for a batch, rollout actors
  // holding weights but no work (in "sync" they wait for the learner; otherwise admission holds
  // them back until newer weights arrive), both summed over the RL steps.
  double learner_wait_s_ = 0;
  double actor_idle_s_ = 0;
  // The controller's round trip of the last successful weight sync: SyncWeights sent to every
  // member's WeightsSynced received (metrics.jsonl "sync_round_trip_seconds").
  double last_sync_s_ = 0;
  std::optional<Clock::time_point> rl_started_;
  Clock::time_point last_pump_{};
  int64_t generated_tokens_ = 0;
  ControllerCounters counters_;
  ControllerMetrics metrics_;
  // Beaten by every pump(): the controller's liveness for /healthz.
  metrics::LoopWatch loop_;
  SilentWorkerHandler silent_worker_handler_;
};

} // namespace caravan::controller
