// File: bench/bench_tokenizer.cpp
// Benchmark of model::BpeTokenizer on a real vocabulary (Qwen3's tokenizer.json by default, the
// one the tokenizer conformance fixture installs into the build tree): encode and decode
// throughput in MB/s (of UTF-8 text) and tokens/s, single-threaded, on a multilingual corpus.
// The corpus is made from the lines of tests/model/conformance/corpus.jsonl (English, code,
// Arabic, Hebrew, Hindi, Russian, Greek, CJK, emoji, whitespace runs, numbers, special tokens,
// NFD text), shuffled and interleaved with random numbers and identifiers, cut into documents
// of about 4 KB (a long prompt). Two encode figures: "cold" is the first pass over never-seen
// text with a fresh tokenizer (empty merge cache), "warm" the steady state afterwards.
//
//   ctest --test-dir build -L integration -R tokenizer_conformance_npm_install   # installs Qwen3
//   build/bench/bench_tokenizer --quick                     # ~10 s
//   build/bench/bench_tokenizer --tokenizer /path/to/tokenizer.json --seconds 10
//
// The last line is `RESULT encode_mb_per_s=... encode_tokens_per_s=... decode_mb_per_s=...
// decode_tokens_per_s=... cold_encode_mb_per_s=...`.
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <random>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/command_line.h"
#include "core/status.h"
#include "core/str_cat.h"
#include "model/bpe_tokenizer.h"

#ifndef CARAVAN_DEFAULT_TOKENIZER
#error "CARAVAN_DEFAULT_TOKENIZER must name the Qwen3 tokenizer.json of the conformance fixture"
#endif
#ifndef CARAVAN_TOKENIZER_CORPUS
#error "CARAVAN_TOKENIZER_CORPUS must name tests/model/conformance/corpus.jsonl"
#endif

namespace caravan::bench {
namespace {

using Clock = std::chrono::steady_clock;

struct BenchOptions {
  std::filesystem::path tokenizer = CARAVAN_DEFAULT_TOKENIZER;
  std::filesystem::path corpus = CARAVAN_TOKENIZER_CORPUS;
  // Corpus size in bytes. Range: > 0.
  size_t corpus_bytes = size_t{16} << 20;
  // Measured seconds per phase (warm encode, decode) after the cold pass. Range: > 0.
  double seconds = 10.0;
};

// Size of one document of the corpus in bytes (about; documents end at a line boundary).
constexpr size_t kDocumentBytes = 4096;

// Parses argv into `options`. Returns the exit code to stop with (0 after --help, 2 on a bad
// flag), or nullopt to run.
std::optional<int> parse_args(int argc, char** argv, BenchOptions& options) {
  core::CommandLine cli("bench_tokenizer",
                        "Measures tokenizer encode and decode throughput (MB/s, tokens/s) on a multilingual corpus.\n"
                        "The last line is `RESULT key=value ...`.");
  cli.switch_flag("--quick", "a 2 MiB corpus and 3 s per phase");
  cli.flag("--tokenizer", "PATH", "tokenizer.json (default: Qwen3's, installed by the conformance test fixture)");
  cli.flag("--corpus", "PATH", "JSON lines {\"text\": ...} the corpus is built from");
  cli.flag("--seconds", "S", "measured seconds per phase (default 10)");
  cli.flag("--megabytes", "M", "corpus size in MiB (default 16)");
  if (std::optional<int> exit_code = cli.parse_or_exit(argc, argv, /*first=*/1)) return exit_code;
  const bool quick = cli.is_set("--quick");
  Result<double> seconds = cli.positive_number("--seconds", quick ? 3.0 : options.seconds);
  Result<double> megabytes =
      cli.positive_number("--megabytes", static_cast<double>(quick ? size_t{2} << 20 : options.corpus_bytes) / (1 << 20));
  for (const Status& status : {seconds.status(), megabytes.status()}) {
    if (!status.ok()) {
      std::cerr << status.message() << "\n";
      return 2;
    }
  }
  options.seconds = *seconds;
  options.corpus_bytes = static_cast<size_t>(*megabytes * (1 << 20));
  if (auto path = cli.value("--tokenizer")) options.tokenizer = *path;
  if (auto path = cli.value("--corpus")) options.corpus = *path;
  return std::nullopt;
}

Result<std::vector<std::string>> read_corpus_lines(const std::filesystem::path& path) {
  std::ifstream in(path);
  if (!in) return Status::not_found(str_cat(path.string(), ": cannot open the corpus"));
  std::vector<std::string> lines;
  std::string line;
  for (int number = 1; std::getline(in, line); ++number) {
    if (line.empty()) continue;
    const auto entry = nlohmann::json::parse(line, /*cb=*/nullptr, /*allow_exceptions=*/false);
    if (!entry.is_object() || !entry.contains("text") || !entry["text"].is_string()) {
      return Status::invalid_argument(str_cat(path.string(), ":", number, ": expected {\"text\": string}"));
    }
    lines.push_back(entry["text"].get<std::string>());
  }
  if (lines.empty()) return Status::invalid_argument(str_cat(path.string(), ": no lines"));
  return lines;
}

// Documents of about kDocumentBytes, `total_bytes` in all: corpus lines in random order, each
// followed by a random number or identifier so that the text does not repeat exactly.
std::vector<std::string> make_documents(const std::vector<std::string>& lines, size_t total_bytes) {
  std::mt19937_64 rng(20261123);
  std::uniform_int_distribution<size_t> pick(0, lines.size() - 1);
  std::uniform_int_distribution<int> number(0, 999999);
  std::vector<std::string> documents;
  std::string document;
  size_t bytes = 0;
  while (bytes < total_bytes) {
    document += lines[pick(rng)];
    document += (rng() & 1) != 0 ? str_cat(" (", number(rng), ")\n") : str_cat(" var_", number(rng), "_x\n");
    if (document.size() >= kDocumentBytes) {
      bytes += document.size();
      documents.push_back(std::move(document));
      document.clear();
    }
  }
  return documents;
}

struct Throughput {
  double bytes = 0;
  double tokens = 0;
  double seconds = 0;
  double mb_per_s() const { return bytes / seconds / 1e6; }
  double tokens_per_s() const { return tokens / seconds; }
};

void print(std::string_view name, const Throughput& result) {
  std::printf("%-12s %8.2f MB/s %12.0f tokens/s  (%.1f MB, %.0f tokens in %.2f s)\n", std::string(name).c_str(),
              result.mb_per_s(), result.tokens_per_s(), result.bytes / 1e6, result.tokens, result.seconds);
}

int run(const BenchOptions& options) {
  if (!std::filesystem::exists(options.tokenizer)) {
    std::cerr << "bench_tokenizer: " << options.tokenizer.string()
              << " does not exist. Install the Qwen3 reference with `ctest --test-dir build -L integration -R "
                 "tokenizer_conformance_npm_install`, or pass --tokenizer PATH.\n";
    return 2;
  }
  Result<std::vector<std::string>> lines = read_corpus_lines(options.corpus);
  if (!lines.ok()) {
    std::cerr << "bench_tokenizer: " << lines.status().to_string() << "\n";
    return 2;
  }
  const std::vector<std::string> documents = make_documents(*lines, options.corpus_bytes);
  double corpus_bytes = 0;
  for (const std::string& document : documents) corpus_bytes += static_cast<double>(document.size());

  const auto load_start = Clock::now();
  Result<std::shared_ptr<const model::BpeTokenizer>> tokenizer = model::BpeTokenizer::load(options.tokenizer);
  if (!tokenizer.ok()) {
    std::cerr << "bench_tokenizer: " << tokenizer.status().to_string() << "\n";
    return 2;
  }
  const double load_seconds = std::chrono::duration<double>(Clock::now() - load_start).count();
  std::printf("tokenizer %s: vocab %d, loaded in %.2f s\ncorpus: %zu documents, %.1f MB\n",
              options.tokenizer.string().c_str(), (*tokenizer)->vocab_size(), load_seconds, documents.size(),
              corpus_bytes / 1e6);

  // Cold: one pass with an empty merge cache; keeps the ids for the decode phase.
  std::vector<std::vector<int32_t>> encoded(documents.size());
  Throughput cold;
  auto start = Clock::now();
  for (size_t index = 0; index < documents.size(); ++index) {
    encoded[index] = (*tokenizer)->encode(documents[index]);
    cold.tokens += static_cast<double>(encoded[index].size());
  }
  cold.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  cold.bytes = corpus_bytes;
  print("encode cold", cold);

  Throughput warm;
  start = Clock::now();
  while (warm.seconds < options.seconds) {
    for (size_t index = 0; index < documents.size() && warm.seconds < options.seconds; ++index) {
      const std::vector<int32_t> ids = (*tokenizer)->encode(documents[index]);
      warm.tokens += static_cast<double>(ids.size());
      warm.bytes += static_cast<double>(documents[index].size());
      warm.seconds = std::chrono::duration<double>(Clock::now() - start).count();
    }
  }
  print("encode warm", warm);

  Throughput decode;
  start = Clock::now();
  while (decode.seconds < options.seconds) {
    for (size_t index = 0; index < documents.size() && decode.seconds < options.seconds; ++index) {
      Result<std::string> text = (*tokenizer)->decode(encoded[index]);
      if (!text.ok()) {
        std::cerr << "bench_tokenizer: decode of document " << index << ": " << text.status().to_string() << "\n";
        return 1;
      }
      decode.tokens += static_cast<double>(encoded[index].size());
      decode.bytes += static_cast<double>(text->size());
      decode.seconds = std::chrono::duration<double>(Clock::now() - start).count();
    }
  }
  print("decode", decode);

  std::printf("RESULT encode_mb_per_s=%.2f encode_tokens_per_s=%.0f decode_mb_per_s=%.2f decode_tokens_per_s=%.0f "
              "cold_encode_mb_per_s=%.2f\n",
              warm.mb_per_s(), warm.tokens_per_s(), decode.mb_per_s(), decode.tokens_per_s(), cold.mb_per_s());
  return 0;
}

} // namespace
} // namespace caravan::bench

int main(int argc, char** argv) {
  caravan::bench::BenchOptions options;
  if (std::optional<int> exit_code = caravan::bench::parse_args(argc, argv, options)) return *exit_code;
  return caravan::bench::run(options);
}
