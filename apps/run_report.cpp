#include "apps/run_config_reader.h"
#include "apps/run_report.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <optional>
#include <set>

#include "apps/run_progress.h"
#include "apps/status_view.h"
#include "apps/svg_chart.h"
#include "core/jsonl.h"
#include "core/utf8.h"

namespace caravan::apps {
namespace {

// Samples shown in each of the best and worst tables, and characters shown of a text.
constexpr size_t kTableSamples = 5;
constexpr size_t kTextChars = 400;

Result<std::vector<nlohmann::json>> read_rows(const std::filesystem::path& file, std::string_view what) {
  std::vector<nlohmann::json> rows;
  CARAVAN_RETURN_IF_ERROR(core::for_each_jsonl_row(file, what, [&](int64_t line, const Result<nlohmann::json>& row) {
    if (!row.ok()) return Status::invalid_argument(str_cat(file.string(), ":", line, ": ", row.status().message()));
    rows.push_back(*row);
    return Status();
  }));
  return rows;
}

std::optional<double> number(const nlohmann::json& row, std::string_view key) {
  const auto it = row.find(key);
  if (it == row.end() || !it->is_number()) return std::nullopt;
  return it->get<double>();
}

std::string text_of(const nlohmann::json& row, std::string_view key) {
  const auto it = row.find(key);
  if (it == row.end() || it->is_null()) return "";
  return it->is_string() ? it->get<std::string>() : it->dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string fixed(double value, int decimals) {
  char text[64];
  std::snprintf(text, sizeof(text), "%.*f", decimals, value);
  return text;
}

// At most kTextChars characters of `text`, cut at a character boundary.
std::string shortened(const std::string& text) {
  size_t end = 0, chars = 0;
  while (end < text.size() && chars < kTextChars) {
    end += core::utf8_sequence_length(static_cast<unsigned char>(text[end]));
    ++chars;
  }
  if (end >= text.size()) return text;
  return text.substr(0, end) + " …";
}

const nlohmann::json& reward_of(const nlohmann::json& sample) {
  static const nlohmann::json kNone = nlohmann::json::object();
  const auto it = sample.find("reward");
  return it != sample.end() && it->is_object() ? *it : kNone;
}

bool trainable(const nlohmann::json& sample) {
  const auto& reward = reward_of(sample);
  const auto it = reward.find("trainable");
  return it != reward.end() && it->is_boolean() && it->get<bool>() && number(reward, "final_reward").has_value();
}

// One value per step of the "rl" rows, from `key`.
ChartSeries metric_series(const std::vector<nlohmann::json>& rl_rows, std::string name, std::string_view key) {
  ChartSeries series{.name = std::move(name), .points = {}};
  for (const auto& row : rl_rows) {
    const auto step = number(row, "step");
    const auto value = number(row, key);
    if (step && value) series.points.emplace_back(*step, *value);
  }
  return series;
}

// Per step: the values of `value(sample)` of the samples that have one.
template <class Value>
std::map<double, std::vector<double>> values_by_step(const std::vector<nlohmann::json>& samples, const Value& value) {
  std::map<double, std::vector<double>> by_step;
  for (const auto& sample : samples) {
    const auto step = number(sample, "step");
    const std::optional<double> v = value(sample);
    if (step && v) by_step[*step].push_back(*v);
  }
  return by_step;
}

ChartSeries step_means(std::string name, const std::map<double, std::vector<double>>& by_step) {
  ChartSeries mean{.name = std::move(name), .points = {}};
  for (const auto& [step, values] : by_step) {
    double sum = 0;
    for (double v : values) sum += v;
    mean.points.emplace_back(step, sum / static_cast<double>(values.size()));
  }
  return mean;
}

ChartSeries step_maxima(std::string name, const std::map<double, std::vector<double>>& by_step) {
  ChartSeries max{.name = std::move(name), .points = {}};
  for (const auto& [step, values] : by_step) max.points.emplace_back(step, *std::max_element(values.begin(), values.end()));
  return max;
}

// Per dataset source, the mean of `value(sample)` per step.
template <class Value>
std::vector<ChartSeries> per_source(const std::vector<nlohmann::json>& samples, const Value& value) {
  std::set<std::string> sources;
  for (const auto& sample : samples) sources.insert(text_of(sample, "source"));
  std::vector<ChartSeries> series;
  for (const std::string& source : sources) {
    const auto of_source = [&](const nlohmann::json& sample) -> std::optional<double> {
      return text_of(sample, "source") == source ? value(sample) : std::nullopt;
    };
    series.push_back(step_means(source.empty() ? "(no source)" : source, values_by_step(samples, of_source)));
  }
  return series;
}

std::string figure(const LineChart& chart, std::string_view caption) {
  return str_cat("<figure>", render_line_chart(chart), "<figcaption>", html_escape(caption), "</figcaption></figure>\n");
}

std::string sample_table(const std::string& title, const std::vector<const nlohmann::json*>& samples) {
  std::string html = str_cat("<h3>", html_escape(title), "</h3>\n<table class=\"samples\"><thead><tr><th>step</th>",
                             "<th>source</th><th>reward</th><th>status</th><th>prompt</th><th>completion</th>",
                             "<th>expected</th></tr></thead><tbody>\n");
  for (const nlohmann::json* sample : samples) {
    const auto& reward = reward_of(*sample);
    html += str_cat("<tr><td>", text_of(*sample, "step"), "</td><td>", html_escape(text_of(*sample, "source")),
                    "</td><td>", fixed(number(reward, "final_reward").value_or(0.0), 3), "</td><td>",
                    html_escape(text_of(reward, "status")), "</td><td><pre>",
                    html_escape(shortened(text_of(*sample, "prompt"))), "</pre></td><td><pre>",
                    html_escape(shortened(text_of(*sample, "completion"))), "</pre></td><td><pre>",
                    html_escape(shortened(text_of(*sample, "ground_truth"))), "</pre></td></tr>\n");
  }
  return html + "</tbody></table>\n";
}

constexpr const char* kStyle = R"(
body { font-family: sans-serif; margin: 24px; color: #222; background: #fafafa; }
h1 { margin-bottom: 4px; } .where { color: #666; margin-top: 0; }
.summary td { padding: 2px 14px 2px 0; }
.charts { display: flex; flex-wrap: wrap; gap: 16px; }
figure { margin: 0; background: #fff; border: 1px solid #ddd; padding: 6px; }
figcaption { font-size: 12px; color: #555; max-width: 520px; }
table.samples, table.times, table.evals { border-collapse: collapse; background: #fff; }
table.samples td, table.samples th, table.times td, table.times th, table.evals td, table.evals th {
  border: 1px solid #ddd; padding: 4px 8px; vertical-align: top; text-align: left; font-size: 13px; }
pre { white-space: pre-wrap; word-break: break-word; max-width: 420px; margin: 0; font-size: 12px; }
)";

}  // namespace

Result<RunRecords> load_run_records(const std::filesystem::path& run_dir) {
  const std::filesystem::path config_file = run_dir / "config.toml";
  std::error_code error;
  if (!std::filesystem::is_regular_file(config_file, error)) {
    return Status::not_found(str_cat(run_dir.string(), ": not a run directory (no config.toml); give the directory ",
                                     "`caravan run` created"));
  }
  CARAVAN_ASSIGN_OR_RETURN(const RunConfig config, load_run_config(config_file.string()));
  RunRecords records;
  records.root = run_dir;
  records.run_name = config.run.name;
  records.total_steps = config.grpo.steps;
  CARAVAN_ASSIGN_OR_RETURN(records.metrics, read_rows(run_dir / "metrics.jsonl", "metrics"));
  const std::filesystem::path train_samples = run_dir / "samples" / "train.jsonl";
  if (std::filesystem::exists(train_samples, error)) {
    CARAVAN_ASSIGN_OR_RETURN(records.train_samples, read_rows(train_samples, "train samples"));
  }
  return records;
}

std::string render_run_report(const RunRecords& records) {
  std::vector<nlohmann::json> rl_rows;
  std::vector<const nlohmann::json*> eval_rows;
  RunProgress progress(records.total_steps);
  ChartSeries tokens_per_second{.name = "generated tokens/s", .points = {}};
  // Where the wall time of each step went: the learner's update, the weight sync, and the rest
  // (generation and verification, and waiting for them).
  ChartSeries step_time{.name = "step", .points = {}}, train{.name = "learner update", .points = {}},
      sync{.name = "weight sync", .points = {}}, rest{.name = "generation + verification", .points = {}};
  double total_step = 0, total_train = 0, total_sync = 0;
  for (const auto& row : records.metrics) {
    progress.add(row);
    const std::string phase = text_of(row, "phase");
    if (phase.starts_with("eval")) eval_rows.push_back(&row);
    if (phase != "rl") continue;
    rl_rows.push_back(row);
    const ProgressSnapshot now = progress.snapshot(0, 0);
    if (!now.step_seconds) continue;
    const double step = static_cast<double>(now.step);
    const double train_s = number(row, "train_seconds").value_or(0.0);
    const std::optional<double> round_trip = sync_round_trip_seconds(row);
    const double sync_s = round_trip.value_or(0.0);
    tokens_per_second.points.emplace_back(step, *now.tokens_per_second);
    step_time.points.emplace_back(step, *now.step_seconds);
    train.points.emplace_back(step, train_s);
    if (round_trip) sync.points.emplace_back(step, sync_s);
    rest.points.emplace_back(step, std::max(0.0, *now.step_seconds - train_s - sync_s));
    total_step += *now.step_seconds;
    total_train += train_s;
    total_sync += sync_s;
  }
  const ProgressSnapshot last = progress.snapshot(0, 0);
  const auto& samples = records.train_samples;

  std::string html = str_cat("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Caravan run ",
                             html_escape(records.run_name), "</title><style>", kStyle, "</style></head><body>\n");
  html += str_cat("<h1>Run ", html_escape(records.run_name), "</h1><p class=\"where\">", html_escape(records.root.string()),
                  "</p>\n<table class=\"summary\"><tr><td>steps trained</td><td>", last.step, " of ", records.total_steps,
                  "</td></tr><tr><td>last reward</td><td>",
                  last.reward_mean ? fixed(*last.reward_mean, 3) : "-", "</td></tr><tr><td>last accuracy</td><td>",
                  last.accuracy ? fixed(*last.accuracy * 100, 1) + "%" : "-", "</td></tr><tr><td>time per step</td><td>",
                  last.seconds_per_step ? fixed(*last.seconds_per_step, 2) + " s" : "-",
                  "</td></tr><tr><td>samples recorded</td><td>", samples.size(), "</td></tr></table>\n");

  const auto reward_value = [](const nlohmann::json& s) -> std::optional<double> {
    return trainable(s) ? number(reward_of(s), "final_reward") : std::nullopt;
  };
  const auto correct_value = [](const nlohmann::json& s) -> std::optional<double> {
    const auto& status = reward_of(s).find("status");
    if (status == reward_of(s).end() || !status->is_string()) return std::nullopt;
    return status->get<std::string>() == "ok" ? 1.0 : 0.0;
  };
  const auto length_value = [](const nlohmann::json& s) { return number(s, "completion_tokens"); };
  const auto truncated_value = [](const nlohmann::json& s) -> std::optional<double> {
    const std::string reason = text_of(s, "finish_reason");
    if (reason.empty()) return std::nullopt;
    return reason == "length" ? 1.0 : 0.0;
  };
  const auto staleness_value = [](const nlohmann::json& s) { return number(s, "staleness"); };

  html += "<h2>Training</h2><div class=\"charts\">\n";
  std::vector<ChartSeries> reward = per_source(samples, reward_value);
  reward.insert(reward.begin(), metric_series(rl_rows, "all sources", "reward_mean"));
  html += figure({.title = "Reward per source", .x_label = "step", .y_label = "mean reward", .series = reward},
                 "Mean final reward of the judged samples of each step, by dataset source.");
  std::vector<ChartSeries> accuracy = per_source(samples, correct_value);
  accuracy.insert(accuracy.begin(), metric_series(rl_rows, "all sources", "accuracy"));
  html += figure({.title = "Accuracy per source", .x_label = "step", .y_label = "fraction correct", .series = accuracy},
                 "Fraction of the samples of each step the verifier judged correct (status ok).");
  html += figure({.title = "KL to the reference", .x_label = "step", .y_label = "KL", .series = {metric_series(rl_rows, "kl", "kl")}},
                 "Mean KL divergence of the policy from the reference model, per step.");
  html += figure({.title = "Entropy",
                  .x_label = "step",
                  .y_label = "nats per token",
                  .series = {metric_series(rl_rows, "entropy", "entropy")},
                  .empty_note = "not recorded: this run's learner reports no entropy"},
                 "Mean token entropy of the policy on the trained samples, per step.");
  const auto lengths = values_by_step(samples, length_value);
  html += figure({.title = "Response length",
                  .x_label = "step",
                  .y_label = "tokens",
                  .series = {step_means("mean", lengths), step_maxima("max", lengths)}},
                 "Generated tokens per completion (end-of-sequence excluded).");
  html += figure({.title = "Truncation rate",
                  .x_label = "step",
                  .y_label = "fraction",
                  .series = {step_means("truncated", values_by_step(samples, truncated_value))}},
                 "Fraction of completions that reached max_new_tokens without end-of-sequence.");
  const auto staleness = values_by_step(samples, staleness_value);
  html += figure({.title = "Staleness",
                  .x_label = "step",
                  .y_label = "policy versions",
                  .series = {step_means("mean", staleness), step_maxima("max", staleness)}},
                 "How many policy versions older than the trained policy the samples were generated with.");
  html += figure({.title = "Throughput", .x_label = "step", .y_label = "tokens per second", .series = {tokens_per_second}},
                 "Generated tokens per second of wall time, per step.");

  html += figure({.title = "Time per step", .x_label = "step", .y_label = "seconds", .series = {step_time, train, sync, rest}},
                 "Wall time of each step and its parts (the learner's update, the weight sync before it, the rest).");
  html += "</div>\n<h2>Time breakdown</h2>\n<table class=\"times\"><tr><th>part</th><th>seconds</th><th>share</th></tr>\n";
  const double total_rest = std::max(0.0, total_step - total_train - total_sync);
  for (const auto& [part, seconds] : std::vector<std::pair<std::string, double>>{
           {"learner update", total_train}, {"weight sync", total_sync}, {"generation + verification", total_rest}}) {
    html += str_cat("<tr><td>", part, "</td><td>", fixed(seconds, 2), "</td><td>",
                    total_step > 0 ? fixed(seconds / total_step * 100, 1) + "%" : "-", "</td></tr>\n");
  }
  html += str_cat("<tr><td>all steps</td><td>", fixed(total_step, 2), "</td><td></td></tr></table>\n");

  html += "<h2>Held-out evaluations</h2>\n";
  if (eval_rows.empty()) {
    html += "<p>No evaluation recorded.</p>\n";
  } else {
    html += "<table class=\"evals\"><tr><th>evaluation</th><th>accuracy</th></tr>\n";
    for (const nlohmann::json* row : eval_rows) {
      const auto acc = number(*row, "held_out_accuracy");
      html += str_cat("<tr><td>", html_escape(text_of(*row, "phase")), "</td><td>",
                      acc ? fixed(*acc * 100, 1) + "%" : "-", "</td></tr>\n");
    }
    html += "</table>\n";
  }

  std::vector<const nlohmann::json*> judged;
  for (const auto& sample : samples) {
    if (trainable(sample)) judged.push_back(&sample);
  }
  std::stable_sort(judged.begin(), judged.end(), [](const nlohmann::json* a, const nlohmann::json* b) {
    return *number(reward_of(*a), "final_reward") > *number(reward_of(*b), "final_reward");
  });
  html += "<h2>Samples</h2>\n";
  if (judged.empty()) {
    html += "<p>No judged sample recorded (samples/train.jsonl).</p>\n";
  } else {
    const size_t shown = std::min(kTableSamples, judged.size());
    html += sample_table("Best samples", std::vector<const nlohmann::json*>(judged.begin(), judged.begin() + shown));
    html += sample_table("Worst samples", std::vector<const nlohmann::json*>(judged.rbegin(), judged.rbegin() + shown));
  }
  html += "</body></html>\n";
  return html;
}

} // namespace caravan::apps
