// File: bench/bench_generate.cpp
// Benchmark of a real-model process: a random-weight Hugging Face checkpoint shaped like
// Qwen/Qwen2.5-0.5B (24 layers, width 896, 14 query / 2 key-value heads, 151936-token vocabulary,
// tied embeddings; 494 M parameters, bf16 on disk; --quick: 4 layers) is written with a byte-level
// tokenizer, then `caravan generate` runs on it in a fresh process twice, CPU float32: one
// sequence (batch 1) and sixteen (batch 16). From each run's log it reads the model load time
// and the resident memory after loading (event=model_loaded) and the generation throughput
// (the last progress line). Ratios against baselines of the same run:
//   resident_over_weights   resident memory after load / float32 parameter bytes (one copy = ~1)
//   batch16_over_batch1     tokens/s at batch 16 / tokens/s at batch 1
//
//   build/bench/bench_generate --quick     # ~40 s
//   build/bench/bench_generate             # the 0.5B shape, a few minutes on 2 cores
//
// The last line is `RESULT load_s=... resident_gib=... resident_over_weights=... tokens_per_s_batch1=...
// tokens_per_s_batch16=... batch16_over_batch1=...`.
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <optional>
#include <string>

#include <ATen/ATen.h>
#include <nlohmann/json.hpp>

#include "core/command_line.h"
#include "core/read_file.h"
#include "core/status.h"
#include "core/str_cat.h"
#include "model/checkpoint_io.h"
#include "model/llama.h"
#include "tests/common/bpe_fixture.h"

namespace caravan::bench {
namespace {

using Clock = std::chrono::steady_clock;
namespace fs = std::filesystem;

struct BenchOptions {
  fs::path dir = fs::temp_directory_path();
  bool quick = false;
  int64_t new_tokens = 64;
  int threads = 2;
};

std::optional<int> parse_args(int argc, char** argv, BenchOptions& options) {
  core::CommandLine cli("bench_generate",
                        "Load time, resident memory and `caravan generate` tokens/s (batch 1 and 16) of a random\n"
                        "Qwen2.5-0.5B-shaped checkpoint (bf16 on disk, float32 compute on the CPU).\n"
                        "The last line is `RESULT load_s=... resident_gib=... resident_over_weights=...\n"
                        "tokens_per_s_batch1=... tokens_per_s_batch16=... batch16_over_batch1=...`.");
  cli.switch_flag("--quick", "4 layers instead of 24 and 16 new tokens");
  cli.flag("--dir", "PATH", "where the checkpoint is written and removed (default: $TMPDIR)");
  cli.flag("--new-tokens", "N", "tokens generated per sequence (default 64)");
  cli.flag("--threads", "N", "LibTorch threads of the generate process (default 2)");
  if (std::optional<int> exit_code = cli.parse_or_exit(argc, argv, /*first=*/1)) return exit_code;
  options.quick = cli.is_set("--quick");
  if (auto dir = cli.value("--dir")) options.dir = *dir;
  Result<double> new_tokens = cli.positive_number("--new-tokens", options.quick ? 16 : 64, /*integer=*/true);
  Result<double> threads = cli.positive_number("--threads", 2, /*integer=*/true);
  for (const Result<double>* value : {&new_tokens, &threads}) {
    if (!value->ok()) {
      std::cerr << value->status().message() << "\n";
      return 2;
    }
  }
  options.new_tokens = static_cast<int64_t>(*new_tokens);
  options.threads = static_cast<int>(*threads);
  return std::nullopt;
}

core::TransformerConfig qwen25_half_billion(bool quick) {
  core::TransformerConfig config;
  config.architecture = core::Architecture::kQwen2;
  config.vocab_size = 151936;
  config.hidden_size = 896;
  config.intermediate_size = 4864;
  config.num_layers = quick ? 4 : 24;
  config.num_heads = 14;
  config.num_kv_heads = 2;
  config.max_position_embeddings = 32768;
  config.rope_theta = 1000000.0;
  config.rms_norm_eps = 1e-6;
  config.tie_word_embeddings = true;
  config.bos_token_id = 256;
  config.eos_token_ids = {257};
  config.pad_token_id = 256;
  return config;
}

// A byte-level tokenizer.json (ids 0..255) with <|endoftext|> = 256 and <|im_end|> = 257.
nlohmann::json tokenizer_json() {
  using nlohmann::json;
  json added = json::array();
  for (const auto& [id, content] : {std::pair{256, "<|endoftext|>"}, std::pair{257, "<|im_end|>"}}) {
    added.push_back({{"id", id}, {"content", content}, {"special", true}, {"normalized", false}});
  }
  return testing::byte_level_bpe_json(json::object(), json::array(), added);
}

Status write_checkpoint(const fs::path& dir, const core::TransformerConfig& config, int64_t& parameters) {
  at::manual_seed(0);
  model::Llama llama(config);
  parameters = llama->parameter_count();
  model::SaveModelOptions options;
  options.dtype = at::kBFloat16;
  CARAVAN_RETURN_IF_ERROR(model::save_model(dir, llama, config, options));
  std::ofstream(dir / "tokenizer.json") << tokenizer_json().dump();
  std::ofstream(dir / "tokenizer_config.json") << nlohmann::json{{"eos_token", "<|im_end|>"}, {"pad_token", "<|endoftext|>"}}.dump();
  return Status();
}

// What one `caravan generate` run logged.
struct GenerateRun {
  double load_s = 0;
  double resident_mib = 0;
  double tokens_per_s = 0;
};

// The number after "key=" (or "key ") in the last line of `log` holding `marker`.
std::optional<double> logged_number(const std::string& log, const std::string& marker, const std::string& key) {
  const size_t line = log.rfind(marker);
  if (line == std::string::npos) return std::nullopt;
  const size_t at = log.find(key, line);
  if (at == std::string::npos) return std::nullopt;
  return std::strtod(log.c_str() + at + key.size(), nullptr);
}

Result<GenerateRun> run_generate(const fs::path& model_dir, const fs::path& work, int sequences,
                                 const BenchOptions& options) {
  const fs::path prompts = work / "prompts.jsonl";
  std::ofstream(prompts) << R"({"prompt": "The quick brown fox jumps over the lazy dog. Once upon a time"})" << "\n";
  const fs::path log_file = work / "generate.log";
  const std::string command =
      str_cat("'", CARAVAN_BINARY, "' generate --model '", model_dir.string(), "' --prompts '", prompts.string(),
              "' --n ", sequences, " --batch-size ", sequences, " --max-new-tokens ", options.new_tokens,
              " --temperature 1 --seed 1 --threads ", options.threads, " > /dev/null 2> '", log_file.string(), "'");
  const auto started = Clock::now();
  const int status = std::system(command.c_str());
  const double wall = std::chrono::duration<double>(Clock::now() - started).count();
  CARAVAN_ASSIGN_OR_RETURN(const std::string log, core::read_file(log_file, "generate log"));
  if (status != 0) return Status::internal(str_cat("caravan generate failed:\n", log));
  GenerateRun run;
  const auto load_s = logged_number(log, "event=model_loaded", "seconds=");
  const auto resident = logged_number(log, "event=model_loaded", "resident_mib=");
  const auto tokens_per_s = logged_number(log, "generate: prompts", "tokens_per_s ");
  if (!load_s || !resident || !tokens_per_s) return Status::internal(str_cat("unexpected generate log:\n", log));
  run.load_s = *load_s;
  run.resident_mib = *resident;
  run.tokens_per_s = *tokens_per_s;
  std::printf("batch %2d: load %.2f s, resident %.0f MiB, %.1f tokens/s (process wall %.1f s)\n", sequences,
              run.load_s, run.resident_mib, run.tokens_per_s, wall);
  return run;
}

int run(const BenchOptions& options) {
  const core::TransformerConfig config = qwen25_half_billion(options.quick);
  const fs::path work = options.dir / str_cat("caravan-bench-generate-", ::getpid());
  const fs::path model_dir = work / "model";
  fs::remove_all(work);
  fs::create_directories(work);
  int64_t parameters = 0;
  const auto started = Clock::now();
  if (const Status written = write_checkpoint(model_dir, config, parameters); !written.ok()) {
    std::cerr << "bench_generate: " << written.to_string() << "\n";
    return 1;
  }
  std::printf("wrote %s: %lld parameters (bf16, %.0f MB) in %.1f s\n", model_dir.string().c_str(),
              static_cast<long long>(parameters), static_cast<double>(fs::file_size(model_dir / "model.safetensors")) / 1e6,
              std::chrono::duration<double>(Clock::now() - started).count());
  Result<GenerateRun> single = run_generate(model_dir, work, 1, options);
  Result<GenerateRun> batch = single.ok() ? run_generate(model_dir, work, 16, options) : single;
  fs::remove_all(work);
  if (!batch.ok()) {
    std::cerr << "bench_generate: " << batch.status().to_string() << "\n";
    return 1;
  }
  const double weights_mib = static_cast<double>(parameters) * 4 / (1024.0 * 1024.0);
  std::printf("RESULT load_s=%.2f resident_gib=%.2f resident_over_weights=%.2f tokens_per_s_batch1=%.1f "
              "tokens_per_s_batch16=%.1f batch16_over_batch1=%.2f\n",
              single->load_s, single->resident_mib / 1024.0, single->resident_mib / weights_mib, single->tokens_per_s,
              batch->tokens_per_s, batch->tokens_per_s / single->tokens_per_s);
  return 0;
}

}  // namespace
}  // namespace caravan::bench

int main(int argc, char** argv) {
  caravan::bench::BenchOptions options;
  if (std::optional<int> exit_code = caravan::bench::parse_args(argc, argv, options)) return *exit_code;
  return caravan::bench::run(options);
}
