// File: apps/run_progress.h
// The progress of a run as the terminal view (apps/status_view.h) shows it, folded from the rows
// the controller appends to metrics.jsonl: "rl" rows (one per training step), "sft", "eval-*",
// "resume" and "dataset" rows. Rows of other phases, and fields it does not know, are ignored,
// so the view keeps working as the rows grow new fields.
//
//   RunProgress progress(/*total_steps=*/config.grpo.steps);
//   progress.add(nlohmann::json::parse(line));
//   ProgressSnapshot now = progress.snapshot();
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

namespace caravan::apps {

// What the status block shows. Optional values are unknown until the rows tell them.
struct ProgressSnapshot {
  // "starting" (no step yet), "sft" (warm-up done), "rl" (training), "eval" (held-out
  // evaluation seen last).
  std::string phase = "starting";
  // RL steps trained so far, and the run's [grpo] steps.
  int64_t step = 0;
  int64_t total_steps = 0;
  // Of the last RL step: mean reward of the judged samples, fraction answered correctly.
  std::optional<double> reward_mean;
  std::optional<double> accuracy;
  // Accuracy of the last held-out evaluation.
  std::optional<double> eval_accuracy;
  // Wall seconds of the last step (between the last two RL rows), and the generated tokens per
  // second over it.
  std::optional<double> step_seconds;
  std::optional<double> tokens_per_second;
  // The controller's round trip of the last weight sync (sync_round_trip_seconds()).
  std::optional<double> sync_round_trip_seconds;
  // Mean wall seconds per step since the controller started training (or resumed), and that
  // times the steps left.
  std::optional<double> seconds_per_step;
  std::optional<double> eta_seconds;
  // Processes of the run alive now, of all that were started.
  int64_t workers_alive = 0;
  int64_t workers_total = 0;
};

// The controller's round trip of the weight sync an "rl" row reports, SyncWeights sent to the
// last member's WeightsSynced ("sync_round_trip_seconds"; rows written before that name call it
// "sync_seconds"). The learner's own transfer time is the row's "weight_sync.transfer_seconds".
std::optional<double> sync_round_trip_seconds(const nlohmann::json& row);

// Single-threaded.
class RunProgress {
 public:
  explicit RunProgress(int64_t total_steps) : total_steps_(total_steps) {}

  // One metrics.jsonl row. Rows that are not objects are ignored.
  void add(const nlohmann::json& row);
  // The state after the rows added so far, with the given process counts.
  ProgressSnapshot snapshot(int64_t workers_alive, int64_t workers_total) const;

 private:
  // The counters of the previous RL row: rl_seconds (wall time since the controller process
  // began training) and generated_tokens.
  struct Counters {
    double rl_seconds = 0;
    double generated_tokens = 0;
  };

  int64_t total_steps_;
  ProgressSnapshot last_;
  std::optional<Counters> previous_;
  // Steps trained before the controller process that writes the rows now began training.
  int64_t steps_before_this_controller_ = 0;
};

} // namespace caravan::apps
