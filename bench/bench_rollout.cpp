// File: bench/bench_rollout.cpp
// Rollout throughput on CPU, float32, one run, ratios against baselines measured in the same run:
//   - engine: rollout::Engine (continuous batching, paged KV cache) over the whole workload;
//   - static: the pre-engine static-batch generation (batches of --static-batch sequences, each
//     prefilled together into a dense model::KvCache and decoded until its slowest sequence
//     ends; ended rows keep decoding a pad token);
//   - naive: no cache, the whole sequence recomputed for every token, one sequence at a time
//     (on the first --naive-requests requests: it is slow);
//   - prefix sharing: prefill time of GRPO groups of 8 and 16 samples of one prompt (one new
//     token each) with the engine's sharing against every sample prefilled on its own.
// Every sequence samples at temperature 1 with no reachable stop id, so each generates exactly
// max_new_tokens tokens. The model and workload come from bench/rollout_workload.h.
//
//   build/bench/bench_rollout --quick     # < 1 minute: ~6 M model, 32 requests
//   build/bench/bench_rollout             # ~100 M model, 256 requests of 64-512 prompt tokens, 128 new
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <thread>

#include <unistd.h>

#include <torch/csrc/autograd/grad_mode.h>

#include "actors/rollout/engine.h"
#include "bench/rollout_workload.h"
#include "core/command_line.h"
#include "core/str_cat.h"
#include "model/kv_cache.h"

namespace caravan::bench {
namespace {

using Clock = std::chrono::steady_clock;

struct Throughput {
  int64_t tokens = 0;
  double seconds = 0;
  double per_second() const { return seconds > 0 ? static_cast<double>(tokens) / seconds : 0.0; }
};

double seconds_since(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }

rollout::SamplingParams sampling(int64_t max_new_tokens, uint64_t seed) {
  return {.temperature = 1.0, .max_new_tokens = max_new_tokens, .stop_ids = {-1}, .seed = seed};
}

// Every prompt as one request of `samples` samples through the engine.
Throughput run_engine(model::LlamaImpl& model, const std::vector<std::vector<int32_t>>& prompts, int64_t samples,
                      int64_t max_new_tokens, const rollout::EngineOptions& options, rollout::EngineStats* stats) {
  Result<std::unique_ptr<rollout::Engine>> engine = rollout::Engine::create(model, options, nullptr);
  CARAVAN_CHECK(engine.ok(), engine.status().to_string());
  const auto start = Clock::now();
  for (size_t p = 0; p < prompts.size(); ++p) {
    rollout::EngineRequest request{.id = p, .prompt = prompts[p]};
    for (int64_t s = 0; s < samples; ++s) request.samples.push_back(sampling(max_new_tokens, p * 1000 + s));
    const Status added = (*engine)->add(std::move(request));
    CARAVAN_CHECK(added.ok(), added.to_string());
  }
  Throughput out;
  while (!(*engine)->idle()) {
    for (const rollout::SequenceOutput& done : (*engine)->step()) out.tokens += static_cast<int64_t>(done.tokens.size());
  }
  out.seconds = seconds_since(start);
  if (stats != nullptr) *stats = (*engine)->stats();
  return out;
}

// The pre-engine generator: static batches, each prefilled together and decoded until its
// slowest row ends.
Throughput run_static(model::LlamaImpl& model, const std::vector<std::vector<int32_t>>& prompts, int64_t max_new_tokens,
                      int64_t batch_size) {
  torch::NoGradGuard no_grad;
  const auto start = Clock::now();
  Throughput out;
  for (size_t first = 0; first < prompts.size(); first += static_cast<size_t>(batch_size)) {
    const size_t last = std::min(prompts.size(), first + static_cast<size_t>(batch_size));
    const auto rows = static_cast<int64_t>(last - first);
    int64_t longest = 0;
    std::vector<model::BatchLayout::Sequence> layout;
    std::vector<int64_t> ids;
    std::vector<rollout::SequenceSampler> samplers;
    for (size_t p = first; p < last; ++p) {
      const auto length = static_cast<int64_t>(prompts[p].size());
      longest = std::max(longest, length);
      layout.push_back({.new_tokens = length, .past = 0, .memory_slot = static_cast<int64_t>(p - first)});
      ids.insert(ids.end(), prompts[p].begin(), prompts[p].end());
      samplers.emplace_back(sampling(max_new_tokens, p), prompts[p], nullptr);
    }
    model::KvCache cache(model.config(), rows, longest + max_new_tokens, at::kFloat, at::kCPU);
    at::Tensor logits = model.forward(at::tensor(ids, at::kLong), model::BatchLayout(layout, at::kCPU), &cache,
                                      model::LogitRows::kLastOfEachSequence);
    while (true) {
      std::vector<rollout::SequenceSampler*> live;
      std::vector<int64_t> live_rows;
      for (int64_t r = 0; r < rows; ++r) {
        if (samplers[static_cast<size_t>(r)].finished()) continue;
        live.push_back(&samplers[static_cast<size_t>(r)]);
        live_rows.push_back(r);
      }
      if (live.empty()) break;
      (void)rollout::sample_tokens(logits.index_select(0, at::tensor(live_rows, at::kLong)), live);
      out.tokens += static_cast<int64_t>(live.size());
      std::vector<int64_t> next(static_cast<size_t>(rows), 0);  // ended rows decode token 0
      for (size_t i = 0; i < live.size(); ++i) next[static_cast<size_t>(live_rows[i])] = live[i]->generated().back();
      for (auto& row : layout) row = {.new_tokens = 1, .past = row.past + row.new_tokens, .memory_slot = row.memory_slot};
      logits = model.forward(at::tensor(next, at::kLong), model::BatchLayout(layout, at::kCPU), &cache);
    }
  }
  out.seconds = seconds_since(start);
  return out;
}

// No cache: the whole sequence recomputed for every new token, one sequence at a time.
Throughput run_naive(model::LlamaImpl& model, const std::vector<std::vector<int32_t>>& prompts, int64_t max_new_tokens) {
  torch::NoGradGuard no_grad;
  const auto start = Clock::now();
  Throughput out;
  for (size_t p = 0; p < prompts.size(); ++p) {
    rollout::SequenceSampler sampler(sampling(max_new_tokens, p), prompts[p], nullptr);
    std::vector<int64_t> sequence(prompts[p].begin(), prompts[p].end());
    rollout::SequenceSampler* rows[] = {&sampler};
    while (!sampler.finished()) {
      const auto length = static_cast<int64_t>(sequence.size());
      const at::Tensor logits = model.forward(at::tensor(sequence, at::kLong), model::BatchLayout::packed({length}, at::kCPU),
                                              nullptr, model::LogitRows::kLastOfEachSequence);
      sequence.push_back(rollout::sample_tokens(logits, rows).front().token);
      ++out.tokens;
    }
  }
  out.seconds = seconds_since(start);
  return out;
}

// Prefill seconds of `groups` prompts of `prompt_tokens` tokens with `samples` samples each (one
// new token), with and without prefix sharing.
double prefix_saving(model::LlamaImpl& model, const rollout::EngineOptions& options, int64_t groups, int64_t prompt_tokens,
                     int64_t samples) {
  const RolloutWorkload work = rollout_workload(groups, prompt_tokens, prompt_tokens, 1, model.config().vocab_size, 99);
  rollout::EngineOptions shared = options;
  shared.share_prefixes = true;
  rollout::EngineOptions unshared = options;
  unshared.share_prefixes = false;
  const Throughput with = run_engine(model, work.prompts, samples, 1, shared, nullptr);
  const Throughput without = run_engine(model, work.prompts, samples, 1, unshared, nullptr);
  std::printf("prefix  g%-3lld sharing %.3f s  no sharing %.3f s  saving %.2fx\n", static_cast<long long>(samples),
              with.seconds, without.seconds, without.seconds / with.seconds);
  return without.seconds / with.seconds;
}

int run(int argc, char** argv) {
  std::setvbuf(stdout, nullptr, _IOLBF, 0);  // progress lines as they come
  core::CommandLine cli("bench_rollout", "Rollout engine throughput against a naive and a static-batch baseline.");
  cli.switch_flag("--quick", "a ~6 M model and 32 short requests (< 1 minute)");
  cli.flag("--threads", "N", "LibTorch threads (default: every core)");
  cli.flag("--naive-requests", "N", "requests the naive baseline runs (default 4, quick 2)");
  cli.flag("--static-batch", "N", "sequences per static batch (default 32)");
  if (std::optional<int> exit_code = cli.parse_or_exit(argc, argv, 1)) return *exit_code;
  const bool quick = cli.is_set("--quick");
  const Result<double> threads =
      cli.number("--threads", std::max(1u, std::thread::hardware_concurrency()), {.low = 1, .high = 1024, .integer = true});
  const Result<double> naive_requests = cli.positive_number("--naive-requests", quick ? 2 : 4, /*integer=*/true);
  const Result<double> static_batch = cli.positive_number("--static-batch", 32, /*integer=*/true);
  for (const auto* value : {&threads, &naive_requests, &static_batch}) {
    if (!value->ok()) {
      std::fprintf(stderr, "%s\n", value->status().to_string().c_str());
      return 2;
    }
  }
  at::set_num_threads(static_cast<int>(*threads));

  const core::TransformerConfig config = rollout_model_config(quick);
  model::Llama model = random_model(config, 1);
  const RolloutWorkload work = quick ? rollout_workload(32, 16, 128, 32, config.vocab_size, 7)
                                     : rollout_workload(256, 64, 512, 128, config.vocab_size, 7);
  const rollout::EngineOptions options{.kv_cache_bytes = int64_t{1} << (quick ? 28 : 30), .block_size = 16,
                                       .max_step_tokens = 512, .max_running = 64};
  std::printf("model   %lld parameters, %lld layers, width %lld; %zu requests, %lld new tokens each, %d threads\n",
              static_cast<long long>(model->parameter_count()), static_cast<long long>(config.num_layers),
              static_cast<long long>(config.hidden_size), work.prompts.size(),
              static_cast<long long>(work.max_new_tokens), at::get_num_threads());

  rollout::EngineStats stats;
  const Throughput engine = run_engine(*model, work.prompts, 1, work.max_new_tokens, options, &stats);
  std::printf("engine  %lld tokens in %.2f s: %.1f tokens/s (preemptions %lld, steps %lld)\n",
              static_cast<long long>(engine.tokens), engine.seconds, engine.per_second(),
              static_cast<long long>(stats.totals.preemptions), static_cast<long long>(stats.totals.steps));
  const Throughput fixed = run_static(*model, work.prompts, work.max_new_tokens, static_cast<int64_t>(*static_batch));
  std::printf("static  %lld tokens in %.2f s: %.1f tokens/s (batches of %lld)\n", static_cast<long long>(fixed.tokens),
              fixed.seconds, fixed.per_second(), static_cast<long long>(*static_batch));
  const std::vector<std::vector<int32_t>> subset(work.prompts.begin(),
                                                 work.prompts.begin() + static_cast<std::ptrdiff_t>(*naive_requests));
  const Throughput naive = run_naive(*model, subset, work.max_new_tokens);
  std::printf("naive   %lld tokens in %.2f s: %.1f tokens/s (%zu requests)\n", static_cast<long long>(naive.tokens),
              naive.seconds, naive.per_second(), subset.size());

  const int64_t groups = quick ? 2 : 4;
  const int64_t prompt_tokens = quick ? 128 : 512;
  const double saving_8 = prefix_saving(*model, options, groups, prompt_tokens, 8);
  const double saving_16 = prefix_saving(*model, options, groups, prompt_tokens, 16);
  std::printf("RESULT speedup_vs_naive=%.2f speedup_vs_static=%.2f prefix_saving_g8=%.2f prefix_saving_g16=%.2f "
              "engine_tokens_per_s=%.1f static_tokens_per_s=%.1f naive_tokens_per_s=%.1f\n",
              engine.per_second() / naive.per_second(), engine.per_second() / fixed.per_second(), saving_8, saving_16,
              engine.per_second(), fixed.per_second(), naive.per_second());
  return 0;
}

} // namespace
} // namespace caravan::bench

int main(int argc, char** argv) {
  // OpenMP threads that spin while they wait collapse on a shared machine (measured here: ~80% of
  // the time in libgomp's spin loop with a compile beside the run). libgomp reads the policy when
  // it loads, before main: set it and start again unless the caller chose one.
  if (std::getenv("OMP_WAIT_POLICY") == nullptr) {
    ::setenv("OMP_WAIT_POLICY", "PASSIVE", 1);
    ::execv("/proc/self/exe", argv);
  }
  return caravan::bench::run(argc, argv);
}
