#include "apps/run_progress.h"

#include <algorithm>

namespace caravan::apps {
namespace {

std::optional<double> number(const nlohmann::json& row, const char* key) {
  const auto it = row.find(key);
  if (it == row.end() || !it->is_number()) return std::nullopt;
  return it->get<double>();
}

}  // namespace

std::optional<double> sync_round_trip_seconds(const nlohmann::json& row) {
  if (auto seconds = number(row, "sync_round_trip_seconds")) return seconds;
  return number(row, "sync_seconds");
}

void RunProgress::add(const nlohmann::json& row) {
  if (!row.is_object()) return;
  const auto phase_it = row.find("phase");
  if (phase_it == row.end() || !phase_it->is_string()) return;
  const std::string phase = phase_it->get<std::string>();
  if (phase == "sft") {
    last_.phase = "sft";
  } else if (phase.starts_with("eval")) {
    last_.phase = "eval";
    if (auto accuracy = number(row, "held_out_accuracy")) last_.eval_accuracy = accuracy;
  } else if (phase == "resume") {
    if (auto step = number(row, "step")) last_.step = static_cast<int64_t>(*step);
  } else if (phase == "rl") {
    last_.phase = "rl";
    if (auto step = number(row, "step")) last_.step = static_cast<int64_t>(*step);
    last_.reward_mean = number(row, "reward_mean");
    last_.accuracy = number(row, "accuracy");
    if (auto sync = sync_round_trip_seconds(row)) last_.sync_round_trip_seconds = sync;
    const std::optional<double> elapsed = number(row, "rl_seconds");
    const double tokens = number(row, "generated_tokens").value_or(0.0);
    if (elapsed && *elapsed > 0) {
      // rl_seconds and generated_tokens count from the start of the controller process: a
      // resumed controller starts them again, and its first row stands alone.
      const bool continues = previous_ && previous_->rl_seconds < *elapsed && previous_->generated_tokens <= tokens;
      if (!continues) steps_before_this_controller_ = last_.step - 1;
      const Counters before = continues ? *previous_ : Counters{};
      last_.step_seconds = *elapsed - before.rl_seconds;
      last_.tokens_per_second = (tokens - before.generated_tokens) / *last_.step_seconds;
      const int64_t steps_here = last_.step - steps_before_this_controller_;
      if (steps_here > 0) last_.seconds_per_step = *elapsed / static_cast<double>(steps_here);
      previous_ = Counters{.rl_seconds = *elapsed, .generated_tokens = tokens};
    }
  }
}

ProgressSnapshot RunProgress::snapshot(int64_t workers_alive, int64_t workers_total) const {
  ProgressSnapshot now = last_;
  now.total_steps = total_steps_;
  now.workers_alive = workers_alive;
  now.workers_total = workers_total;
  if (now.seconds_per_step) {
    now.eta_seconds = *now.seconds_per_step * static_cast<double>(std::max<int64_t>(0, total_steps_ - now.step));
  }
  return now;
}

} // namespace caravan::apps
