// File: apps/commands.h
// Entry points of the `caravan` subcommands; each returns the process exit code.
#pragma once

namespace caravan::apps {

// caravan run CONFIG [--run-dir DIR]: every role of a run on this machine, as child processes.
int run_command(int argc, char** argv);
// caravan worker --role ROLE --rank N --config CONFIG: one process of a run (what `run` and
// cluster launchers start).
int worker_command(int argc, char** argv);
// caravan tokenize --model DIR [--add-special] [--chat]: stdin text (or a JSON messages list with
// --chat) -> one JSON array of token ids on stdout.
int tokenize_command(int argc, char** argv);
// caravan detokenize --model DIR: stdin JSON array of ids -> their exact bytes on stdout.
int detokenize_command(int argc, char** argv);
// caravan inspect MODEL_DIR [--json]: architecture, parameter count, dtype, context length, RoPE
// settings and KV-cache bytes per token, from config.json and the safetensors headers.
int inspect_command(int argc, char** argv);
// caravan reward-test --samples S.jsonl [--config R.toml] [--out RESULTS.jsonl] [--threads N]
// [--strict]: verifiers (and reward rules) over labelled samples; agreement, score distribution
// and slowest cases. Exit code 0 all agree, 1 a disagreement with "expected", 2 usage/input error.
int reward_test_command(int argc, char** argv);
// caravan generate --model DIR --prompts FILE.jsonl [--n N] [--temperature T] [--top-p P]
// [--max-new-tokens N] [--seed S] [--out OUT.jsonl]: offline sampling with the rollout code.
int generate_command(int argc, char** argv);
// caravan eval --model DIR --dataset FILE.jsonl [--n N] [--temperature T] [--reward-config R.toml]
// [--out OUT.jsonl]: accuracy, pass@1 and pass@n per dataset source with the run's verifiers.
int eval_command(int argc, char** argv);
// caravan report RUN_DIR [--output FILE]: a self-contained HTML report of a run (apps/run_report.h).
int report_command(int argc, char** argv);

} // namespace caravan::apps
