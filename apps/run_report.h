// File: apps/run_report.h
// The HTML page `caravan report RUN_DIR` writes: one self-contained file (inline CSS and SVG, no
// scripts, nothing fetched at view time) with plots of reward and accuracy per dataset source,
// KL, entropy, response length, staleness, throughput and where the time of a step went, from
// metrics.jsonl and samples/train.jsonl, and tables of the evaluations and of the best and worst
// samples (all text from the run is HTML-escaped).
//
//   CARAVAN_ASSIGN_OR_RETURN(RunRecords records, load_run_records("runs/quickstart-..."));
//   std::string html = render_run_report(records);
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/status.h"

namespace caravan::apps {

// What a run directory holds that the report shows.
struct RunRecords {
  std::filesystem::path root;
  // [run] name and [grpo] steps of its config.toml.
  std::string run_name;
  int64_t total_steps = 0;
  // metrics.jsonl rows, in file order.
  std::vector<nlohmann::json> metrics;
  // samples/train.jsonl rows, in file order (empty when the run trained no step yet).
  std::vector<nlohmann::json> train_samples;
};

// Reads RUN_DIR/config.toml, metrics.jsonl and samples/train.jsonl (optional). Errors name the
// file, and the line for a row that is not a JSON object: kNotFound "RUN_DIR: not a run
// directory (no config.toml)" or "RUN_DIR/metrics.jsonl: cannot open ...", kInvalidArgument
// "RUN_DIR/metrics.jsonl:7: invalid JSON: ..." or a config.toml error.
Result<RunRecords> load_run_records(const std::filesystem::path& run_dir);

// The page. Pure.
std::string render_run_report(const RunRecords& records);

} // namespace caravan::apps
