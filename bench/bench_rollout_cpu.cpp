// File: bench/bench_rollout_cpu.cpp
// CPU rollout speed in two parts, each a ratio measured within one run.
//
// 1. Contention. A fixed generation workload (a random Qwen3-shaped model of 29 M parameters,
//    8 sequences, 32 prompt + 32 new tokens; --quick: 9 M, 2 sequences, 16 + 4 tokens) runs in a
//    fresh process per setting, once on the machine as it is and once beside two busy-looping
//    processes this benchmark starts (2 cores: the workload loses about half the CPU, more with
//    the machine's own load). Settings: 2 threads with libgomp's default wait (OMP_WAIT_POLICY
//    unset: spin ~3 ms, then sleep; Caravan before [run] thread_wait), 2 threads ACTIVE (spin),
//    2 threads PASSIVE (sleep at once: the default of [run] thread_wait), and 1 thread PASSIVE
//    (--quick: the default and PASSIVE with 2 threads, the two the RESULT line reports).
//    The slowdown of a setting is its time with the busy loops over its time without.
// 2. llama.cpp reference. One random Qwen3-shaped model of ~250 M parameters in float32 (6
//    layers, width 1024, 16/8 heads of 128, MLP 3072, 151936-token tied vocabulary; --quick: 2
//    layers of width 512 and a 32000-token vocabulary, 23 M) is written as safetensors and, by
//    model/gguf_export.h, as GGUF. llama.cpp (node-llama-cpp's prebuilt CPU binaries,
//    bench/llama_cpp_reference.mjs) and Caravan (its rollout engine, PASSIVE) decode greedily on
//    those weights with 2 threads at batch 1 and batch 32, 64-token prompts, 64 new tokens
//    (--quick: 8 and 3); decode tokens/s excludes the prefill (Caravan: generating N tokens
//    minus generating 1; llama.cpp's includes node-llama-cpp's per-token JavaScript). The
//    batch-1 greedy tokens of both must agree (the first 16): they run the same model.
//
//   cmake --build build --target bench_rollout_cpu llama_cpp_reference   # the second: npm, once
//   build/bench/bench_rollout_cpu --quick       # under a minute
//   build/bench/bench_rollout_cpu               # the ~250 M model, a few minutes on 2 cores
//
// The last line is `RESULT contention_slowdown=... contention_slowdown_passive=...
// batch1_vs_llama_cpp=... batch32_vs_llama_cpp=...` (contention_slowdown: libgomp's default
// wait; the llama.cpp ratios are Caravan's decode tokens/s over llama.cpp's, "skipped" with
// llama_cpp_skipped=REASON when node or the package is missing).
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <nlohmann/json.hpp>

#include "actors/rollout/engine.h"
#include "bench/competing_load.h"
#include "core/command_line.h"
#include "core/read_file.h"
#include "core/status.h"
#include "core/str_cat.h"
#include "model/checkpoint_io.h"
#include "model/gguf_export.h"
#include "model/llama.h"

namespace caravan::bench {
namespace {

using Clock = std::chrono::steady_clock;
namespace fs = std::filesystem;

double seconds_since(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }

// Prompt s of a batch, the ids bench/llama_cpp_reference.mjs uses.
std::vector<int32_t> prompt_of(int64_t sequence, int64_t tokens) {
  std::vector<int32_t> prompt;
  for (int64_t i = 0; i < tokens; ++i) prompt.push_back(static_cast<int32_t>((7919 * (sequence + 1) + 104729 * i) % 30000 + 300));
  return prompt;
}

// ---- Child mode: one measured workload in a fresh process (its OpenMP runtime started with the
// environment the parent chose).

struct Workload {
  fs::path model_dir;
  int threads = 2;
  int64_t batch = 1;
  int64_t prompt_tokens = 64;
  int64_t new_tokens = 64;
};

// Greedy (as the llama.cpp reference) through the rollout engine: every sequence its own request,
// all of them running at once, on exactly workload.threads threads (the setting measured; the
// engine would otherwise follow the free cores). Outputs in sequence order.
std::vector<rollout::SequenceOutput> run_workload(model::LlamaImpl& llama, const Workload& workload, int64_t new_tokens) {
  const rollout::EngineOptions options{.max_running = workload.batch, .follow_free_cores = false};
  Result<std::unique_ptr<rollout::Engine>> engine = rollout::Engine::create(llama, options, /*token_text=*/nullptr);
  CARAVAN_CHECK(engine.ok(), engine.status().to_string());
  for (int64_t s = 0; s < workload.batch; ++s) {
    const rollout::SamplingParams sampling{
        .temperature = 0,
        .max_new_tokens = new_tokens,
        .stop_ids = {static_cast<int32_t>(llama.config().eos_token_ids.front())}};
    const Status added = (*engine)->add(rollout::EngineRequest{
        .id = static_cast<uint64_t>(s), .prompt = prompt_of(s, workload.prompt_tokens), .samples = {sampling}});
    CARAVAN_CHECK(added.ok(), added.to_string());
  }
  std::vector<rollout::SequenceOutput> out(static_cast<size_t>(workload.batch));
  while (!(*engine)->idle()) {
    for (rollout::SequenceOutput& done : (*engine)->step()) out[done.request_id] = std::move(done);
  }
  return out;
}

// Prints `CHILD prefill_s=... generate_s=... tokens=...` and `CHILD_TOKENS id,id,...` (row 0).
int child_main(const Workload& workload) {
  at::set_num_threads(workload.threads);
  Result<core::TransformerConfig> config = model::read_model_config(workload.model_dir);
  if (!config.ok()) {
    std::cerr << config.status().to_string() << "\n";
    return 1;
  }
  model::Llama llama(*config, model::WeightInit::kNone);
  if (Status loaded = model::load_model_weights(workload.model_dir, llama); !loaded.ok()) {
    std::cerr << loaded.to_string() << "\n";
    return 1;
  }
  llama->eval();
  run_workload(*llama, workload, 2);  // warm-up: first-call allocations and kernel selection
  auto started = Clock::now();
  run_workload(*llama, workload, 1);
  const double prefill_s = seconds_since(started);
  started = Clock::now();
  const std::vector<rollout::SequenceOutput> out = run_workload(*llama, workload, workload.new_tokens);
  const double generate_s = seconds_since(started);
  int64_t tokens = 0;
  for (const auto& sequence : out) tokens += static_cast<int64_t>(sequence.tokens.size());
  std::printf("CHILD prefill_s=%.6f generate_s=%.6f tokens=%lld\nCHILD_TOKENS ", prefill_s, generate_s,
              static_cast<long long>(tokens));
  for (size_t i = 0; i < out.front().tokens.size(); ++i) std::printf("%s%d", i ? "," : "", out.front().tokens[i]);
  std::printf("\n");
  return 0;
}

// ---- Parent mode.

struct BenchOptions {
  fs::path dir = fs::temp_directory_path();
  bool quick = false;
  bool skip_contention = false;
  fs::path npm_prefix = CARAVAN_NPM_LLAMA_CPP_DIR;
  std::string node = CARAVAN_NODE_BINARY;
};

// What a child reported.
struct ChildRun {
  double prefill_s = 0;
  double generate_s = 0;
  int64_t tokens = 0;
  std::vector<int32_t> first_tokens;
};

// The wait policies compared: nullopt = libgomp's default (OMP_WAIT_POLICY unset).
using WaitPolicy = std::optional<std::string>;

std::string policy_label(const WaitPolicy& policy) { return policy ? *policy : std::string("default"); }

std::vector<int32_t> parse_ids(const std::string& text) {
  std::vector<int32_t> ids;
  std::stringstream stream(text);
  for (std::string id; std::getline(stream, id, ',');) {
    if (!id.empty()) ids.push_back(std::stoi(id));
  }
  return ids;
}

// Output of `command` (stdout), or an error with its exit status.
Result<std::string> capture(const std::string& command) {
  FILE* pipe = ::popen(command.c_str(), "r");
  if (pipe == nullptr) return Status::unavailable(str_cat("popen failed: ", command));
  std::string output;
  char buffer[4096];
  while (size_t n = std::fread(buffer, 1, sizeof(buffer), pipe)) output.append(buffer, n);
  const int status = ::pclose(pipe);
  if (status != 0) return Status::internal(str_cat("command failed (status ", status, "): ", command, "\n", output));
  return output;
}

Result<ChildRun> run_child(const Workload& workload, const WaitPolicy& policy) {
  const std::string self = fs::read_symlink("/proc/self/exe").string();
  const std::string command =
      str_cat("env -u OMP_WAIT_POLICY -u GOMP_SPINCOUNT ", policy ? str_cat("OMP_WAIT_POLICY=", *policy, " ") : "",
              "'", self, "' --child --model '", workload.model_dir.string(), "' --threads ", workload.threads,
              " --batch ", workload.batch, " --prompt-tokens ", workload.prompt_tokens, " --new-tokens ",
              workload.new_tokens);
  CARAVAN_ASSIGN_OR_RETURN(const std::string output, capture(command));
  ChildRun run;
  const size_t line = output.find("CHILD prefill_s=");
  const size_t tokens_line = output.find("CHILD_TOKENS ");
  if (line == std::string::npos || tokens_line == std::string::npos) {
    return Status::internal(str_cat("unexpected child output:\n", output));
  }
  long long tokens = 0;
  std::sscanf(output.c_str() + line, "CHILD prefill_s=%lf generate_s=%lf tokens=%lld", &run.prefill_s,
              &run.generate_s, &tokens);
  run.tokens = tokens;
  const size_t begin = tokens_line + std::string("CHILD_TOKENS ").size();
  run.first_tokens = parse_ids(output.substr(begin, output.find('\n', begin) - begin));
  return run;
}

core::TransformerConfig qwen3_config(int64_t vocab, int64_t hidden, int64_t intermediate, int64_t layers,
                                     int64_t heads, int64_t kv_heads, int64_t head_dim) {
  core::TransformerConfig config;
  config.architecture = core::Architecture::kQwen3;
  config.vocab_size = vocab;
  config.hidden_size = hidden;
  config.intermediate_size = intermediate;
  config.num_layers = layers;
  config.num_heads = heads;
  config.num_kv_heads = kv_heads;
  config.explicit_head_dim = head_dim;
  config.max_position_embeddings = 4096;
  config.rope_theta = 1000000.0;
  config.rms_norm_eps = 1e-6;
  config.tie_word_embeddings = true;
  config.bos_token_id = 256;
  config.eos_token_ids = {257};
  config.pad_token_id = 256;
  return config;
}

// Writes a random model (seed 0) as safetensors into `dir`, and as GGUF into `gguf` when given.
Status write_model(const fs::path& dir, const core::TransformerConfig& config, const std::optional<fs::path>& gguf) {
  at::manual_seed(0);
  model::Llama llama(config);
  CARAVAN_RETURN_IF_ERROR(model::save_model(dir, llama, config));
  if (gguf) CARAVAN_RETURN_IF_ERROR(model::export_gguf(*gguf, *llama, model::placeholder_vocabulary(config)));
  std::printf("wrote %s: %.0f M parameters (float32)%s\n", dir.string().c_str(), llama->parameter_count() / 1e6,
              gguf ? " and its GGUF" : "");
  std::fflush(stdout);
  return Status();
}

// Part 1: the slowdown of each wait policy under contention. Returns the slowdowns of the
// default wait and of PASSIVE (2 threads).
Result<std::pair<double, double>> measure_contention(const fs::path& work, bool quick) {
  const fs::path model_dir = work / "contention-model";
  const core::TransformerConfig config =
      quick ? qwen3_config(32000, 256, 768, 2, 4, 2, 64) : qwen3_config(32000, 512, 1536, 4, 8, 4, 64);
  CARAVAN_RETURN_IF_ERROR(write_model(model_dir, config, std::nullopt));
  struct Setting {
    WaitPolicy policy;
    int threads;
    double as_is_s = 0;
    double loaded_s = 0;
  };
  // --quick: only the two settings the RESULT line reports (the spinning ones collapse under load
  // and took most of the quick run's time).
  std::vector<Setting> settings = {{std::nullopt, 2}, {"PASSIVE", 2}};
  if (!quick) settings = {{std::nullopt, 2}, {"ACTIVE", 2}, {"PASSIVE", 2}, {"PASSIVE", 1}};
  const int64_t batch = quick ? 2 : 8;
  const int64_t prompt_tokens = quick ? 16 : 32;
  const int64_t new_tokens = quick ? 4 : 32;
  std::printf("\ncontention: batch %lld, prompt %lld, %lld new tokens, as the machine is and beside 2 busy loops\n",
              static_cast<long long>(batch), static_cast<long long>(prompt_tokens), static_cast<long long>(new_tokens));
  std::printf("%-8s %7s %9s %9s %9s\n", "wait", "threads", "as-is s", "loaded s", "slowdown");
  for (Setting& setting : settings) {
    const Workload workload{.model_dir = model_dir, .threads = setting.threads, .batch = batch,
                            .prompt_tokens = prompt_tokens, .new_tokens = new_tokens};
    CARAVAN_ASSIGN_OR_RETURN(const ChildRun as_is, run_child(workload, setting.policy));
    Result<ChildRun> loaded = [&] {
      BusyLoops busy(2);
      return run_child(workload, setting.policy);
    }();
    CARAVAN_RETURN_IF_ERROR(loaded.status());
    setting.as_is_s = as_is.generate_s;
    setting.loaded_s = loaded->generate_s;
    std::printf("%-8s %7d %9.2f %9.2f %8.1fx\n", policy_label(setting.policy).c_str(), setting.threads,
                setting.as_is_s, setting.loaded_s, setting.loaded_s / setting.as_is_s);
    std::fflush(stdout);
  }
  double best_as_is = settings.front().as_is_s;
  for (const Setting& setting : settings) best_as_is = std::min(best_as_is, setting.as_is_s);
  std::printf("loaded time over the fastest as-is time (%.2f s):", best_as_is);
  for (const Setting& setting : settings) {
    std::printf(" %s/%d %.1fx", policy_label(setting.policy).c_str(), setting.threads, setting.loaded_s / best_as_is);
  }
  std::printf("\n");
  const auto passive_2 = std::find_if(settings.begin(), settings.end(),
                                      [](const Setting& s) { return s.policy == "PASSIVE" && s.threads == 2; });
  return std::pair{settings[0].loaded_s / settings[0].as_is_s, passive_2->loaded_s / passive_2->as_is_s};
}

// Decode tokens/s of one llama.cpp batch line.
struct ReferenceRun {
  int64_t sequences = 0;
  double decode_tokens_per_s = 0;
  std::vector<int32_t> first_tokens;
};

// Why the llama.cpp reference cannot run here, or nullopt.
std::optional<std::string> reference_unavailable(const BenchOptions& options) {
  if (options.node.empty()) return "node_not_found";
  if (!fs::exists(options.npm_prefix / "node_modules/node-llama-cpp/package.json")) {
    return "node_llama_cpp_not_installed";
  }
  return std::nullopt;
}

Result<std::vector<ReferenceRun>> run_llama_cpp(const BenchOptions& options, const fs::path& gguf,
                                                int64_t prompt_tokens, int64_t new_tokens) {
  const std::string command =
      str_cat("'", options.node, "' '", CARAVAN_LLAMA_CPP_SCRIPT, "' '", options.npm_prefix.string(), "' '",
              gguf.string(), "' 2 ", prompt_tokens, " ", new_tokens, " 1,32");
  CARAVAN_ASSIGN_OR_RETURN(const std::string output, capture(command));
  std::vector<ReferenceRun> runs;
  std::stringstream lines(output);
  for (std::string line; std::getline(lines, line);) {
    if (line.empty() || line.front() != '{') continue;
    const nlohmann::json row = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (!row.is_object() || !row.contains("sequences")) return Status::internal(str_cat("unexpected line: ", line));
    runs.push_back({.sequences = row["sequences"].get<int64_t>(),
                    .decode_tokens_per_s = row["decode_tokens"].get<double>() / row["decode_s"].get<double>(),
                    .first_tokens = row["tokens0"].get<std::vector<int32_t>>()});
  }
  if (runs.size() != 2) return Status::internal(str_cat("llama.cpp reference printed ", runs.size(), " runs:\n", output));
  return runs;
}

std::string format_ids(const std::vector<int32_t>& ids, size_t count) {
  std::string text;
  for (size_t i = 0; i < std::min(count, ids.size()); ++i) text += str_cat(i ? "," : "", ids[i]);
  return text;
}

// Part 2: Caravan's decode tokens/s over llama.cpp's at batch 1 and 32 on the same weights.
Result<std::pair<double, double>> measure_against_llama_cpp(const BenchOptions& options, const fs::path& work) {
  const fs::path model_dir = work / "reference-model";
  const fs::path gguf = work / "reference-model.gguf";
  const core::TransformerConfig config = options.quick ? qwen3_config(32000, 512, 1536, 2, 8, 4, 64)
                                                       : qwen3_config(151936, 1024, 3072, 6, 16, 8, 128);
  CARAVAN_RETURN_IF_ERROR(write_model(model_dir, config, gguf));
  const int64_t prompt_tokens = options.quick ? 8 : 64;
  // --quick: 3 new tokens (2 decode steps per batch): llama.cpp's batch of 32 decodes ~12 tokens/s
  // under load here, so 8 new tokens took it ~20 s.
  const int64_t new_tokens = options.quick ? 3 : 64;
  CARAVAN_ASSIGN_OR_RETURN(const std::vector<ReferenceRun> reference,
                           run_llama_cpp(options, gguf, prompt_tokens, new_tokens));
  std::printf("\nllama.cpp vs Caravan: 2 threads, prompt %lld, %lld new tokens, greedy, decode tokens/s\n",
              static_cast<long long>(prompt_tokens), static_cast<long long>(new_tokens));
  std::printf("%5s %12s %12s %8s\n", "batch", "llama.cpp", "caravan", "ratio");
  std::vector<double> ratios;
  for (const ReferenceRun& run : reference) {
    const Workload workload{.model_dir = model_dir, .threads = 2, .batch = run.sequences,
                            .prompt_tokens = prompt_tokens, .new_tokens = new_tokens};
    CARAVAN_ASSIGN_OR_RETURN(const ChildRun caravan, run_child(workload, "PASSIVE"));
    const double decode_s = caravan.generate_s - caravan.prefill_s;
    const double tokens_per_s = static_cast<double>(run.sequences * (new_tokens - 1)) / decode_s;
    ratios.push_back(tokens_per_s / run.decode_tokens_per_s);
    std::printf("%5lld %12.1f %12.1f %7.2fx\n", static_cast<long long>(run.sequences), run.decode_tokens_per_s,
                tokens_per_s, ratios.back());
    if (run.sequences == 1) {
      // The same weights must give the same greedy tokens; compare the first 16.
      const size_t compared = std::min<size_t>(16, std::min(run.first_tokens.size(), caravan.first_tokens.size()));
      const bool agree = compared > 0 && std::equal(run.first_tokens.begin(), run.first_tokens.begin() + compared,
                                                    caravan.first_tokens.begin());
      std::printf("greedy tokens, batch 1 (first %zu): llama.cpp %s\n%*scaravan   %s -> %s\n", compared,
                  format_ids(run.first_tokens, compared).c_str(), 37, "", format_ids(caravan.first_tokens, compared).c_str(),
                  agree ? "agree" : "DIFFER");
      if (!agree) return Status::internal("llama.cpp and Caravan disagree on the greedy tokens of the same weights");
    }
    std::fflush(stdout);
  }
  return std::pair{ratios[0], ratios[1]};
}

std::optional<int> parse_args(int argc, char** argv, BenchOptions& options, std::optional<Workload>& child) {
  core::CommandLine cli("bench_rollout_cpu",
                        "CPU rollout speed: slowdown under a competing CPU load per OpenMP wait policy, and decode\n"
                        "tokens/s against llama.cpp on the same weights (batch 1 and 32). The last line is\n"
                        "`RESULT contention_slowdown=... contention_slowdown_passive=... batch1_vs_llama_cpp=...\n"
                        "batch32_vs_llama_cpp=...`.");
  cli.switch_flag("--quick", "smaller models and workloads (under a minute)");
  cli.switch_flag("--skip-contention", "only the llama.cpp comparison");
  cli.flag("--dir", "PATH", "where the models are written and removed (default: $TMPDIR)");
  cli.flag("--npm-prefix", "PATH", "where node-llama-cpp is installed (default: the build tree's)");
  cli.switch_flag("--child", "internal: run one workload and print its timings");
  cli.flag("--model", "DIR", "internal (--child): model directory");
  cli.flag("--threads", "N", "internal (--child): LibTorch threads");
  cli.flag("--batch", "N", "internal (--child): sequences");
  cli.flag("--prompt-tokens", "N", "internal (--child): prompt length");
  cli.flag("--new-tokens", "N", "internal (--child): tokens generated per sequence");
  if (std::optional<int> exit_code = cli.parse_or_exit(argc, argv, /*first=*/1)) return exit_code;
  options.quick = cli.is_set("--quick");
  options.skip_contention = cli.is_set("--skip-contention");
  if (auto dir = cli.value("--dir")) options.dir = *dir;
  if (auto prefix = cli.value("--npm-prefix")) options.npm_prefix = *prefix;
  if (!cli.is_set("--child")) return std::nullopt;
  Workload workload;
  workload.model_dir = cli.value("--model").value_or("");
  int64_t* targets[] = {&workload.batch, &workload.prompt_tokens, &workload.new_tokens};
  const char* flags[] = {"--batch", "--prompt-tokens", "--new-tokens"};
  for (size_t i = 0; i < 3; ++i) {
    Result<double> value = cli.positive_number(flags[i], 1, /*integer=*/true);
    if (!value.ok()) {
      std::cerr << value.status().message() << "\n";
      return 2;
    }
    *targets[i] = static_cast<int64_t>(*value);
  }
  Result<double> threads = cli.positive_number("--threads", 2, /*integer=*/true);
  if (!threads.ok()) {
    std::cerr << threads.status().message() << "\n";
    return 2;
  }
  workload.threads = static_cast<int>(*threads);
  child = workload;
  return std::nullopt;
}

// "FIRST=a SECOND=b", two decimals.
std::string ratio_fields(const std::string& first, const std::string& second, std::pair<double, double> ratios) {
  char text[160];
  std::snprintf(text, sizeof(text), "%s=%.2f %s=%.2f", first.c_str(), ratios.first, second.c_str(), ratios.second);
  return text;
}

// Both parts; returns the fields of the RESULT line.
Result<std::string> measure(const BenchOptions& options, const fs::path& work) {
  std::string result = "contention_slowdown=skipped contention_slowdown_passive=skipped";
  if (!options.skip_contention) {
    const auto started = Clock::now();
    CARAVAN_ASSIGN_OR_RETURN(const auto contention, measure_contention(work, options.quick));
    std::printf("part contention: %.0f s\n", seconds_since(started));
    result = ratio_fields("contention_slowdown", "contention_slowdown_passive", contention);
  }
  if (std::optional<std::string> reason = reference_unavailable(options)) {
    std::printf("\nllama.cpp reference skipped: %s (needs node and `cmake --build build --target llama_cpp_reference`, "
                "which installs node-llama-cpp with npm into %s)\n",
                reason->c_str(), options.npm_prefix.string().c_str());
    return str_cat(result, " batch1_vs_llama_cpp=skipped batch32_vs_llama_cpp=skipped llama_cpp_skipped=", *reason);
  }
  const auto started = Clock::now();
  CARAVAN_ASSIGN_OR_RETURN(const auto ratios, measure_against_llama_cpp(options, work));
  std::printf("part llama.cpp: %.0f s\n", seconds_since(started));
  return str_cat(result, " ", ratio_fields("batch1_vs_llama_cpp", "batch32_vs_llama_cpp", ratios));
}

int run(const BenchOptions& options) {
  const fs::path work = options.dir / str_cat("caravan-bench-rollout-cpu-", ::getpid());
  fs::remove_all(work);
  fs::create_directories(work);
  std::printf("load average at start: %s (2 cores; other processes keep running)\n", load_average().c_str());
  const auto started = Clock::now();
  const Result<std::string> result = measure(options, work);
  fs::remove_all(work);
  if (!result.ok()) {
    std::cerr << "bench_rollout_cpu: " << result.status().to_string() << "\n";
    return 1;
  }
  std::printf("load average at end: %s; %.0f s\n", load_average().c_str(), seconds_since(started));
  std::printf("RESULT %s\n", result->c_str());
  return 0;
}

}  // namespace
}  // namespace caravan::bench

int main(int argc, char** argv) {
  caravan::bench::BenchOptions options;
  std::optional<caravan::bench::Workload> child;
  if (std::optional<int> exit_code = caravan::bench::parse_args(argc, argv, options, child)) return *exit_code;
  if (child) return caravan::bench::child_main(*child);
  return caravan::bench::run(options);
}
