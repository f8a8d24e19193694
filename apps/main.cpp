// The `caravan` command: one binary for every role of a run.
#include <iostream>
#include <string>

#include "apps/commands.h"
#include "apps/third_party_logs.h"
#include "core/run_options.h"
#include "core/thread_wait.h"

namespace {

constexpr const char* kUsage =
    "usage: caravan <command> [options]\n"
    "\n"
    "Caravan: reinforcement-learning post-training of LLMs with verifiable rewards.\n"
    "\n"
    "commands:\n"
    "  run CONFIG      start every role of a run on this machine and supervise it\n"
    "  worker          run one process of a run (--role controller|rollout|verifier|learner)\n"
    "  tokenize        print the token ids of stdin as a JSON array (--model DIR)\n"
    "  detokenize      write the bytes of a JSON array of token ids read on stdin (--model DIR)\n"
    "  inspect DIR     print a model's architecture, size, dtype, context and KV-cache cost\n"
    "  reward-test     run verifiers and reward rules over labelled samples (--samples S.jsonl)\n"
    "  generate        sample completions from a model directory (--model DIR --prompts P.jsonl)\n"
    "  eval            accuracy of a model directory on an RLVR dataset (--model DIR --dataset D.jsonl)\n"
    "  report RUN_DIR  write an HTML report of a run (plots, best and worst samples)\n"
    "\n"
    "`caravan <command> --help` describes each command's options.\n";

}  // namespace

int main(int argc, char** argv) {
  // First: LibTorch (glog) may log as soon as it is used.
  caravan::apps::route_third_party_logs(argv[0]);
  if (argc < 2 || std::string(argv[1]) == "--help" || std::string(argv[1]) == "-h") {
    std::cout << kUsage;
    return argc < 2 ? 2 : 0;
  }
  const std::string command = argv[1];
  if (command == "run") return caravan::apps::run_command(argc, argv);
  if (command == "worker") return caravan::apps::worker_command(argc, argv);
  if (command == "tokenize") return caravan::apps::tokenize_command(argc, argv);
  if (command == "detokenize") return caravan::apps::detokenize_command(argc, argv);
  if (command == "inspect") return caravan::apps::inspect_command(argc, argv);
  if (command == "reward-test") return caravan::apps::reward_test_command(argc, argv);
  if (command == "generate" || command == "eval") {
    // No run config here: the default [run] thread_wait, before LibTorch starts its threads.
    const caravan::Status wait = caravan::core::ensure_thread_wait(caravan::core::RunOptions{}.thread_wait, argv);
    if (!wait.ok()) std::cerr << "caravan: " << wait.to_string() << "\n";
  }
  if (command == "generate") return caravan::apps::generate_command(argc, argv);
  if (command == "eval") return caravan::apps::eval_command(argc, argv);
  if (command == "report") return caravan::apps::report_command(argc, argv);
  std::cerr << "caravan: unknown command '" << command << "'\n\n" << kUsage;
  return 2;
}
