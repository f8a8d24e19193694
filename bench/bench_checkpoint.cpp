// File: bench/bench_checkpoint.cpp
// Benchmark of checkpoint loading (model::load_model_weights) against the raw cost of reading
// the same bytes: writes a synthetic sharded Hugging Face checkpoint (a default-architecture
// Llama in bf16, ~410 MB in 100 MB shards; --quick: ~80 MB in 32 MB shards) with
// model::save_model, then alternately (a) read()s every file of the directory into a buffer and
// (b) loads the weights into an fp32 model (bf16 -> fp32 conversion included), and reports the
// best of --repeats runs of each. The files were just written, so both read from the page cache:
// load_over_raw is the loader's overhead over memory-speed I/O, not a disk measurement.
//
//   build/bench/bench_checkpoint --quick          # ~10 s
//   build/bench/bench_checkpoint --dir /nvme/tmp  # checkpoint written there (default: $TMPDIR)
//
// The last line is `RESULT raw_read_s=... load_s=... load_over_raw=...`.
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <torch/types.h>
#include <torch/utils.h>

#include "core/command_line.h"
#include "core/status.h"
#include "core/str_cat.h"
#include "core/transformer_config.h"
#include "model/checkpoint_io.h"
#include "model/llama.h"

namespace caravan::bench {
namespace {

using Clock = std::chrono::steady_clock;

struct BenchOptions {
  // Parent of the checkpoint directory, which is created and removed by the run.
  std::filesystem::path dir = std::filesystem::temp_directory_path();
  bool quick = false;
  // Timed runs of each of raw read and load; the best is reported. Range: >= 1.
  int repeats = 3;
};

// Parses argv into `options`. Returns the exit code to stop with (0 after --help, 2 on a bad
// flag), or nullopt to run.
std::optional<int> parse_args(int argc, char** argv, BenchOptions& options) {
  core::CommandLine cli("bench_checkpoint",
                        "Measures checkpoint load time against the raw read time of the same files.\n"
                        "The last line is `RESULT raw_read_s=... load_s=... load_over_raw=...`.");
  cli.switch_flag("--quick", "a ~80 MB checkpoint instead of ~410 MB");
  cli.flag("--dir", "PATH", "where the checkpoint is written and removed (default: $TMPDIR)");
  cli.flag("--repeats", "N", "timed runs of each measurement; the best is reported (default 3)");
  if (std::optional<int> exit_code = cli.parse_or_exit(argc, argv, /*first=*/1)) return exit_code;
  Result<double> repeats = cli.positive_number("--repeats", options.repeats, /*integer=*/true);
  if (!repeats.ok()) {
    std::cerr << repeats.status().message() << "\n";
    return 2;
  }
  options.repeats = static_cast<int>(*repeats);
  options.quick = cli.is_set("--quick");
  if (auto dir = cli.value("--dir")) options.dir = *dir;
  return std::nullopt;
}

// A Llama with default architecture and a 32k vocabulary: ~207M parameters (--quick: ~39M).
core::TransformerConfig make_config(bool quick) {
  core::TransformerConfig config;
  config.vocab_size = 32000;
  config.hidden_size = quick ? 512 : 1024;
  config.intermediate_size = quick ? 1408 : 2816;
  config.num_layers = quick ? 2 : 12;
  config.num_heads = quick ? 8 : 16;
  config.num_kv_heads = quick ? 4 : 8;
  config.max_position_embeddings = 2048;
  return config;
}

// Reads every regular file of `dir` into `buffer` (grown to the largest file) with read(2).
// Returns the bytes read.
Result<size_t> read_all_files(const std::filesystem::path& dir, std::vector<char>& buffer) {
  size_t total = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (!entry.is_regular_file()) continue;
    const size_t size = entry.file_size();
    if (buffer.size() < size) buffer.resize(size);
    const int fd = ::open(entry.path().c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return Status::unavailable(str_cat(entry.path().string(), ": cannot open"));
    size_t done = 0;
    while (done < size) {
      const ssize_t got = ::read(fd, buffer.data() + done, size - done);
      if (got <= 0) {
        ::close(fd);
        return Status::unavailable(str_cat(entry.path().string(), ": read failed after ", done, " bytes"));
      }
      done += static_cast<size_t>(got);
    }
    ::close(fd);
    total += done;
  }
  return total;
}

double seconds_since(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }

int run(const BenchOptions& options) {
  const core::TransformerConfig config = make_config(options.quick);
  const std::filesystem::path checkpoint = options.dir / str_cat("caravan-bench-checkpoint-", ::getpid());
  std::filesystem::remove_all(checkpoint);

  torch::manual_seed(0);
  {
    model::Llama source(config);
    source->to(torch::kBFloat16);
    const auto start = Clock::now();
    model::SaveModelOptions save_options;
    save_options.max_shard_bytes = options.quick ? 32'000'000 : 100'000'000;
    const Status saved = model::save_model(checkpoint, source, config, save_options);
    if (!saved.ok()) {
      std::cerr << "bench_checkpoint: save_model: " << saved.to_string() << "\n";
      return 1;
    }
    std::printf("wrote %s: %lld parameters (bf16) in %.2f s\n", checkpoint.string().c_str(),
                static_cast<long long>(source->parameter_count()), seconds_since(start));
  }
  int files = 0;
  for (const auto& entry : std::filesystem::directory_iterator(checkpoint)) files += entry.is_regular_file() ? 1 : 0;

  model::Llama target(config);  // fp32
  std::vector<char> buffer;
  double raw_best = 1e30;
  double load_best = 1e30;
  size_t bytes = 0;
  int exit_code = 0;
  for (int repeat = 0; repeat < options.repeats && exit_code == 0; ++repeat) {
    auto start = Clock::now();
    Result<size_t> read = read_all_files(checkpoint, buffer);
    const double raw = seconds_since(start);
    if (!read.ok()) {
      std::cerr << "bench_checkpoint: " << read.status().to_string() << "\n";
      exit_code = 1;
      break;
    }
    bytes = *read;
    start = Clock::now();
    const Status loaded = model::load_model_weights(checkpoint, target);
    const double load = seconds_since(start);
    if (!loaded.ok()) {
      std::cerr << "bench_checkpoint: load_model_weights: " << loaded.to_string() << "\n";
      exit_code = 1;
      break;
    }
    std::printf("run %d: raw read %.3f s (%.0f MB/s), load %.3f s (%.0f MB/s)\n", repeat + 1, raw,
                static_cast<double>(bytes) / raw / 1e6, load, static_cast<double>(bytes) / load / 1e6);
    raw_best = std::min(raw_best, raw);
    load_best = std::min(load_best, load);
  }
  std::filesystem::remove_all(checkpoint);
  if (exit_code != 0) return exit_code;
  std::printf("%d files, %.1f MB; best of %d: raw read %.3f s, load %.3f s\n", files, static_cast<double>(bytes) / 1e6,
              options.repeats, raw_best, load_best);
  std::printf("RESULT raw_read_s=%.3f load_s=%.3f load_over_raw=%.2f\n", raw_best, load_best, load_best / raw_best);
  return 0;
}

} // namespace
} // namespace caravan::bench

int main(int argc, char** argv) {
  caravan::bench::BenchOptions options;
  if (std::optional<int> exit_code = caravan::bench::parse_args(argc, argv, options)) return *exit_code;
  return caravan::bench::run(options);
}
