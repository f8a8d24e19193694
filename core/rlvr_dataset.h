// File: core/rlvr_dataset.h
// Reads RLVR prompt sets stored as JSONL in the layout of open-instruct's Tülu 3 RLVR data
// (allenai/RLVR-GSM-MATH-IF-Mixed-Constraints), so such sets can be exported and trained on
// unchanged. Each line is one JSON object:
//
//   {"messages": [{"role": "user", "content": "What is 2+3?"}],
//    "ground_truth": "5",                      // or, for IFEval, the constraints as JSON text;
//                                              // an array of strings is also accepted
//    "dataset": "gsm8k"}                       // names the verifier, via verifier_for_dataset
//
// Other keys are kept in RlvrRow::extra and otherwise ignored. A row with a missing or
// malformed field is reported as "FILE:LINE: field 'x': reason" and, per
// RlvrDatasetOptions::on_bad_row, skipped (and recorded in the report) or fatal.
//
//   RlvrDatasetOptions options;                      // skip bad rows, default verifier names
//   CARAVAN_ASSIGN_OR_RETURN(RlvrDataset data, load_rlvr_dataset("train.jsonl", options));
//   for (const RlvrRow& row : data.rows) submit(row.messages, row.ground_truth, row.verifier);
//   if (data.report.rows_skipped > 0) log_warn(data.report.problems.front());
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/chat_message.h"
#include "core/dataset_rows.h"
#include "core/status.h"

namespace caravan::core {

// One validated prompt.
struct RlvrRow {
  // 1-based line number in the JSONL file.
  int64_t line = 0;
  // Non-empty; the last message is never from the assistant.
  std::vector<ChatMessage> messages;
  // The string as stored; an array of strings is kept as its compact JSON text
  // (["a","b"] -> "[\"a\",\"b\"]"). For IFEval rows this is the constraints' JSON text.
  std::string ground_truth;
  // The row's "dataset" field as written ("gsm8k", "MATH", "ifeval", ...).
  std::string dataset;
  // The verifier name that dataset maps to (RlvrDatasetOptions::verifier_for_dataset).
  std::string verifier;
  // Every other key of the row's object (an empty object when there are none). Not interpreted.
  nlohmann::json extra = nlohmann::json::object();
};

struct RlvrDatasetOptions {
  BadRowPolicy on_bad_row = BadRowPolicy::kSkip;
  // Maps a row's "dataset" value (exact, case-sensitive) to a verifier name. A row whose
  // dataset is not a key here is a bad row.
  std::map<std::string, std::string> verifier_for_dataset = {
      {"gsm8k", "math"}, {"MATH", "math"}, {"math", "math"}, {"ifeval", "ifeval"}};
};

// rows.size() == rows_read - rows_skipped.
using RlvrDatasetReport = DatasetReport;

struct RlvrDataset {
  // In file order.
  std::vector<RlvrRow> rows;
  RlvrDatasetReport report;
};

// Reads and validates `jsonl`. Empty (whitespace-only) lines are skipped silently; a trailing
// '\r' is ignored. Errors:
//   kNotFound         the file cannot be opened (the message names it);
//   kInvalidArgument  a bad row under BadRowPolicy::kFail ("FILE:LINE: field 'x': reason"),
//                     or no valid row at all (an empty file, or every row skipped);
//   kDataLoss         a read error other than end of file.
// Row checks, in order: the line is a JSON object; "messages" is a non-empty array of objects
// whose "role" is system|user|assistant and whose "content" is a string, and whose last message
// is not from the assistant; "ground_truth" is a string or an array of strings; "dataset" is a
// string that verifier_for_dataset maps (the message lists the known names).
// Thread-safe (no shared state).
Result<RlvrDataset> load_rlvr_dataset(const std::filesystem::path& jsonl, const RlvrDatasetOptions& options);

} // namespace caravan::core
