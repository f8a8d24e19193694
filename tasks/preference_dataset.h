// File: tasks/preference_dataset.h
// Reads preference pairs (DPO data) stored as JSONL in the common layouts, one object per line:
//
//   {"chosen":   [{"role": "user", "content": "2+3?"}, {"role": "assistant", "content": "5"}],
//    "rejected": [{"role": "user", "content": "2+3?"}, {"role": "assistant", "content": "6"}]}
//       Tülu 3 preference mixtures (a "prompt" string beside them is ignored): the two lists
//       share every turn but the last, the assistant's response, which alone is trained.
//   {"prompt": "2+3=", "chosen": "5", "rejected": "6"}
//       Raw text (TRL "standard" preference): the responses follow the prompt without a template.
//   {"prompt": [{"role": "user", ...}], "chosen": [{"role": "assistant", ...}], "rejected": [...]}
//       TRL conversational with an explicit prompt: the responses' assistant turns are trained.
//
// Other keys are ignored. A row with a missing or malformed field is reported as
// "FILE:LINE: field 'x': reason" and, per the BadRowPolicy, skipped (recorded in the report) or
// fatal (core/dataset_rows.h).
//
//   CARAVAN_ASSIGN_OR_RETURN(tasks::PreferenceDataset data,
//                            tasks::load_preference_dataset("pairs.jsonl", core::BadRowPolicy::kFail));
//   for (const tasks::PreferenceRow& row : data.rows) use(row.chosen, row.rejected);
#pragma once

#include <cstdint>
#include <filesystem>
#include <vector>

#include "core/dataset_rows.h"
#include "core/status.h"
#include "tasks/conversation.h"

namespace caravan::tasks {

struct PreferenceRow {
  // 1-based line number in the JSONL file.
  int64_t line = 0;
  // The preferred and the dispreferred response to the same prompt, in the same layout (both
  // chat or both text) and with the same turns before the trained ones.
  Conversation chosen = {};
  Conversation rejected = {};
};

// A stable id of the pair's content (for the held-out split).
uint64_t preference_row_id(const PreferenceRow& row);

struct PreferenceDataset {
  // In file order.
  std::vector<PreferenceRow> rows;
  core::DatasetReport report;
};

// Reads and validates `jsonl`. Row checks: the line is a JSON object with "chosen" and
// "rejected"; as message lists (and no message-list "prompt"), both end with an assistant turn,
// have at least one turn before it and share every turn before it; with a "prompt", prompt and
// responses are all strings (responses non-empty) or all message lists (each response holding an
// assistant turn). Errors: those of core::read_dataset_rows (kNotFound, kInvalidArgument
// "FILE:LINE: field 'x': reason" under kFail or when no row is valid, kDataLoss). Thread-safe;
// blocks on disk I/O.
Result<PreferenceDataset> load_preference_dataset(const std::filesystem::path& jsonl, core::BadRowPolicy on_bad_row);

} // namespace caravan::tasks
