// `caravan report`'s page from a hand-made run directory: the plots it draws, the escaping of
// the run's text, and the errors for a missing or corrupt run directory.
#include <gtest/gtest.h>

#include <fstream>
#include <regex>
#include <string>

#include <nlohmann/json.hpp>

#include "apps/run_config_reader.h"
#include "apps/run_report.h"
#include "apps/svg_chart.h"
#include "tests/common/temp_dir.h"

namespace caravan::apps {
namespace {

using caravan::testing::TempDir;

void write_lines(const std::filesystem::path& file, const std::vector<std::string>& lines) {
  std::filesystem::create_directories(file.parent_path());
  std::ofstream out(file);
  for (const std::string& line : lines) out << line << '\n';
}

nlohmann::json sample(int step, const std::string& source, double reward, const std::string& status,
                      const std::string& completion) {
  return {{"step", step},
          {"source", source},
          {"prompt", "What is 2+2?"},
          {"ground_truth", "4"},
          {"completion", completion},
          {"finish_reason", step == 1 ? "length" : "stop"},
          {"completion_tokens", 3 + step},
          {"staleness", step - 1},
          {"reward", {{"status", status}, {"final_reward", reward}, {"trainable", true}}}};
}

// A run of 2 steps over two sources, one completion trying to inject markup. Step 1's row has the
// sync round trip under its name before the rename ("sync_seconds").
void write_run(const std::filesystem::path& root) {
  RunConfig config;
  config.run.name = "report<test>";
  config.grpo.steps = 2;
  config.task.kind = "arithmetic";
  write_lines(root / "config.toml", {to_toml(config)});
  write_lines(root / "metrics.jsonl",
              {R"({"phase":"eval-sft","held_out_accuracy":0.25})",
               R"({"phase":"rl","step":1,"reward_mean":0.2,"accuracy":0.25,"kl":0.001,"seconds":2.0,"train_seconds":0.5,"sync_seconds":0.25,"generated_tokens":100,"rl_seconds":2.0})",
               R"({"phase":"rl","step":2,"reward_mean":0.6,"accuracy":0.5,"kl":0.004,"seconds":3.0,"train_seconds":1.0,"sync_round_trip_seconds":0.5,"generated_tokens":400,"rl_seconds":5.0})"});
  write_lines(root / "samples" / "train.jsonl",
              {sample(1, "math", 0.0, "wrong", "<script>alert('x')</script>").dump(),
               sample(1, "arith & co", 1.0, "ok", "4").dump(), sample(2, "math", 1.0, "ok", "four").dump(),
               sample(2, "arith & co", 0.5, "wrong", "5").dump()});
}

// data-points of every series path in `html`, by data-series name, in order.
std::vector<std::pair<std::string, int>> series_paths(const std::string& html) {
  std::vector<std::pair<std::string, int>> paths;
  const std::regex path(R"re(<path class="series" data-series="([^"]*)" data-points="(\d+)" d="M[^"]*")re");
  for (auto it = std::sregex_iterator(html.begin(), html.end(), path); it != std::sregex_iterator(); ++it) {
    paths.emplace_back((*it)[1].str(), std::stoi((*it)[2].str()));
  }
  return paths;
}

TEST(RunReport, PlotsEveryMetricFromMetricsAndSamples) {
  TempDir dir;
  write_run(dir.path());
  const Result<RunRecords> records = load_run_records(dir.path());
  ASSERT_TRUE(records.ok()) << records.status().to_string();
  EXPECT_EQ(records->run_name, "report<test>");
  EXPECT_EQ(records->metrics.size(), 3u);
  EXPECT_EQ(records->train_samples.size(), 4u);
  const std::string html = render_run_report(*records);

  for (const char* title : {"Reward per source", "Accuracy per source", "KL to the reference", "Entropy",
                            "Response length", "Truncation rate", "Staleness", "Throughput", "Time per step"}) {
    EXPECT_NE(html.find(std::string("aria-label=\"") + title + "\""), std::string::npos) << title;
  }
  const auto paths = series_paths(html);
  // reward: all + 2 sources; accuracy: all + 2 sources; kl; length mean, max; truncated;
  // staleness mean, max; throughput; time: step, train, sync, rest.
  ASSERT_EQ(paths.size(), 17u) << html;
  EXPECT_EQ(paths[0], (std::pair<std::string, int>{"all sources", 2}));
  EXPECT_EQ(paths[1], (std::pair<std::string, int>{"arith &amp; co", 2}));
  EXPECT_EQ(paths[2], (std::pair<std::string, int>{"math", 2}));
  for (const auto& [name, points] : paths) EXPECT_EQ(points, 2) << name;
  // No entropy in these rows: the chart says so instead of plotting nothing silently.
  EXPECT_NE(html.find("not recorded: this run&#39;s learner reports no entropy"), std::string::npos);
  // Time breakdown: 5 s in all, 1.5 s learner, 0.75 s sync, 2.75 s the rest.
  EXPECT_NE(html.find("<tr><td>learner update</td><td>1.50</td><td>30.0%</td></tr>"), std::string::npos);
  EXPECT_NE(html.find("<tr><td>weight sync</td><td>0.75</td><td>15.0%</td></tr>"), std::string::npos);
  EXPECT_NE(html.find("<tr><td>generation + verification</td><td>2.75</td><td>55.0%</td></tr>"), std::string::npos);
  EXPECT_NE(html.find("<tr><td>eval-sft</td><td>25.0%</td></tr>"), std::string::npos);
}

TEST(RunReport, IsSelfContainedAndEscapesTheRunsText) {
  TempDir dir;
  write_run(dir.path());
  const std::string html = render_run_report(*load_run_records(dir.path()));
  EXPECT_EQ(html.find("<script"), std::string::npos);
  EXPECT_NE(html.find("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;"), std::string::npos);
  EXPECT_NE(html.find("<title>Caravan run report&lt;test&gt;</title>"), std::string::npos);
  EXPECT_EQ(html.find("http://"), std::string::npos);
  EXPECT_EQ(html.find("https://"), std::string::npos);
  EXPECT_EQ(html.find(" src="), std::string::npos);
  EXPECT_EQ(html.find("<link"), std::string::npos);
}

TEST(RunReport, BestAndWorstSamplesAreOrderedByReward) {
  TempDir dir;
  write_run(dir.path());
  const std::string html = render_run_report(*load_run_records(dir.path()));
  const size_t best = html.find("<h3>Best samples</h3>");
  const size_t worst = html.find("<h3>Worst samples</h3>");
  ASSERT_NE(best, std::string::npos);
  ASSERT_NE(worst, std::string::npos);
  // Best first: a reward 1.000 row precedes the 0.500 row; worst first: the 0.000 row.
  const std::string best_table = html.substr(best, worst - best);
  EXPECT_LT(best_table.find("<td>1.000</td>"), best_table.find("<td>0.500</td>"));
  const std::string worst_table = html.substr(worst);
  EXPECT_LT(worst_table.find("<td>0.000</td>"), worst_table.find("<td>1.000</td>"));
}

TEST(RunReport, MissingRunDirectoryIsNamed) {
  TempDir dir;
  const Result<RunRecords> records = load_run_records(dir.path() / "nowhere");
  ASSERT_FALSE(records.ok());
  EXPECT_EQ(records.status().code(), StatusCode::kNotFound);
  EXPECT_NE(records.status().message().find("nowhere: not a run directory (no config.toml)"), std::string::npos)
      << records.status().message();
}

TEST(RunReport, MissingMetricsFileIsNamed) {
  TempDir dir;
  write_run(dir.path());
  std::filesystem::remove(dir.path() / "metrics.jsonl");
  const Result<RunRecords> records = load_run_records(dir.path());
  ASSERT_FALSE(records.ok());
  EXPECT_NE(records.status().message().find("metrics.jsonl"), std::string::npos) << records.status().message();
}

TEST(RunReport, CorruptRowIsNamedByFileAndLine) {
  TempDir dir;
  write_run(dir.path());
  write_lines(dir.path() / "samples" / "train.jsonl", {sample(1, "math", 1.0, "ok", "4").dump(), "{\"step\": 1,"});
  const Result<RunRecords> records = load_run_records(dir.path());
  ASSERT_FALSE(records.ok());
  EXPECT_EQ(records.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(records.status().message().find((dir.path() / "samples" / "train.jsonl").string() + ":2: "),
            std::string::npos)
      << records.status().message();
}

TEST(SvgChart, DrawsOnePathPerSeriesAndANoteWhenEmpty) {
  LineChart chart{.title = "t", .x_label = "x", .y_label = "y", .series = {}};
  chart.series.push_back({.name = "a", .points = {{1, 1}, {2, 4}, {3, 9}}});
  chart.series.push_back({.name = "b", .points = {{1, 5}}});
  chart.series.push_back({.name = "nothing", .points = {}});
  const std::string svg = render_line_chart(chart);
  EXPECT_EQ(series_paths(svg), (std::vector<std::pair<std::string, int>>{{"a", 3}, {"b", 1}}));
  EXPECT_NE(svg.find("<circle"), std::string::npos);  // the single point is visible
  EXPECT_NE(svg.find(std::string("stroke=\"") + std::string(series_colour(1)) + "\""), std::string::npos);

  const std::string empty = render_line_chart({.title = "e", .x_label = "x", .y_label = "y", .series = {}});
  EXPECT_TRUE(series_paths(empty).empty());
  EXPECT_NE(empty.find("no data recorded"), std::string::npos);
}

} // namespace
} // namespace caravan::apps
