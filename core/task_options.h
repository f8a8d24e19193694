// File: core/task_options.h
// What a run trains on ([task]): the task kind, its dataset and the held-out split.
// The run config (apps/run_config.h) holds one; apps/run_config_reader.cpp fills it from TOML.
#pragma once

#include <cstdint>
#include <string>

namespace caravan::core {

// [task]: what the run trains on: the embedded arithmetic task (a+b, a-b, a*b), an RLVR
// prompt set in the Tülu 3 JSONL layout (core/rlvr_dataset.h), or one of the stages before RL:
// supervised fine-tuning on conversations (tasks/sft_dataset.h) or DPO on preference pairs
// (tasks/preference_dataset.h), each run in one process and ending in a Hugging Face checkpoint.
struct TaskOptions {
  // "arithmetic", "rlvr", "sft" or "dpo". Required. Arithmetic prompts are scored by [verifier]
  // name; RLVR rows by the verifier their "dataset" maps to (core/rlvr_dataset.h). "sft" trains
  // by [sft], "dpo" by [dpo]; neither uses rollouts or verifiers.
  std::string kind;
  // rlvr, sft and dpo, required there: the JSONL file. `caravan run` records it as an absolute path.
  std::string dataset;
  // rlvr, sft and dpo: "skip" a malformed row (logged with FILE:LINE and counted in
  // metrics.jsonl) or "fail" the run at the first one.
  std::string on_bad_row = "skip";
  // arithmetic only: operands of + and - are drawn from [0, max_operand_add], 1..10^6.
  int64_t max_operand_add = 99;
  // arithmetic only: operands of * are drawn from [0, max_operand_mul], 1..10^6.
  int64_t max_operand_mul = 19;
  // Size of the fixed, seeded held-out set, disjoint from the training prompts, >= 1. For rlvr
  // (and sft / dpo without held_out_dataset or held_out_fraction), that many rows are split off
  // by a seeded hash of their content and must leave training rows.
  int64_t held_out_size = 500;
  // Seed of the held-out split and selection (independent of run.seed so runs are comparable).
  uint64_t held_out_seed = 20261123;
  // sft and dpo only: a JSONL file in the dataset's layout that is the held-out set (nothing is
  // split off `dataset`). `caravan run` records it as an absolute path. Empty = split.
  std::string held_out_dataset;
  // sft and dpo only: hold out each row whose seeded content hash falls in this fraction,
  // [0, 1); 0 = hold out held_out_size rows instead. Not combined with held_out_dataset.
  double held_out_fraction = 0.0;
};

} // namespace caravan::core
