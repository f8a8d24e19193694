// File: bench/bench_rollout.cpp
// Rollout throughput on CPU, float32, one run, ratios against baselines measured in the same run:
//   - engine: rollout::Engine (continuous batching, paged KV cache) over the whole workload;
//   - static: the pre-engine static-batch generation (batches of --static-batch sequences, each
//     prefilled together into a dense model::KvCache and decoded until its slowest sequence
//     ends; ended rows keep decoding a pad token);
//   - naive: no cache, the whole sequence recomputed for every token, one sequence at a time
//     (on the first --naive-requests requests: it is slow);
//   - prefix sharing: prefill time of GRPO groups of 8 and 16 samples of one prompt (one new
//     token each) with the engine's sharing against every sample prefilled on its own;
//   - context grouping: decode tokens/s of the engine on a workload of mixed contexts (half the
//     prompts short, half long, as RL batches are) with decode groups split by context length
//     (EngineOptions::group_by_context) against every decode step padded to its longest context;
//   - contention: the engine on a small workload as the machine is and beside one busy-looping
//     process per core (bench/competing_load.h), with its threads following the free cores
//     (EngineOptions::follow_free_cores) and with a fixed thread count, as-is and loaded runs
//     alternating (3 rounds, 2 with --quick; medians). The slowdown is the loaded time over the
//     as-is time; the engine loses at least half the CPU to the loops.
// Every sequence samples at temperature 1 with no reachable stop id, so each generates exactly
// max_new_tokens tokens. The model and workload come from bench/rollout_workload.h.
//
//   build/bench/bench_rollout --quick     # < 1 minute: ~5 M model, 32 requests of 16 new tokens
//   build/bench/bench_rollout --quick --contention-only   # the contention part alone (~15 s)
//   build/bench/bench_rollout             # ~100 M model, 256 requests of 64-512 prompt tokens, 128 new
//   build/bench/bench_rollout --gpu       # CUDA LibTorch and a GPU (scripts/gpu-check.sh): see below
//
// GPU part (--gpu, instead of the CPU parts): a random Qwen3-0.6B-shaped model (28 layers, width
// 1024, 16/8 heads of 128, MLP 3072, 151936-token tied vocabulary) in bfloat16 on cuda:0; the
// engine decodes batches of 1, 32 and 256 sequences of 128 prompt + 128 new tokens (--quick: 32
// new). Decode tokens/s (the engine's decode-step time) against transformers' `generate` on the
// same shape, in the same run (bench/transformers_generate.py, python3 with torch + transformers;
// "skipped" when they are missing), and as a fraction of the HBM roofline: per decode step every
// weight and each sequence's KV cache is read once, at the bandwidth of a device-to-device copy
// measured here. Last line: RESULT gpu_batch1_tokens_per_s=... gpu_batch1_vs_transformers=...
// gpu_batch1_roofline_fraction=... (and batch32, batch256).
//
// The last line: RESULT speedup_vs_naive=... speedup_vs_static=... prefix_saving_g8=...
// prefix_saving_g16=... context_grouping_decode_gain=... contention_slowdown=...
// contention_cpu_share_lost=... (the CPU the engine used as-is over what it got beside the busy
// loops, in cores: the goal is contention_slowdown no worse than it) contention_vs_best_as_is=...
// (loaded seconds over the faster as-is run, free-core or fixed threads)
// contention_slowdown_fixed_threads=... free_core_threads_as_is_cost=... (the as-is time
// following the free cores over the fixed threads' one) and the tokens/s behind them. Every part
// but the contention one runs the engine on the fixed thread count, as the baselines.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>
#include <thread>

#include <unistd.h>

#include <torch/csrc/autograd/grad_mode.h>

#include "actors/rollout/engine.h"
#include "actors/rollout/intra_op_threads.h"
#include "bench/competing_load.h"
#include "bench/model_shapes.h"
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
  double cpu_seconds = 0;  // of this process meanwhile (run_engine only)
  double per_second() const { return seconds > 0 ? static_cast<double>(tokens) / seconds : 0.0; }
  double cores() const { return seconds > 0 ? cpu_seconds / seconds : 0.0; }
};

double seconds_since(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }

// `value` with two decimals, as the RESULT line's ratios.
std::string fixed_2(double value) {
  char text[32];
  std::snprintf(text, sizeof(text), "%.2f", value);
  return text;
}

rollout::SamplingParams sampling(int64_t max_new_tokens, uint64_t seed) {
  return {.temperature = 1.0, .max_new_tokens = max_new_tokens, .stop_ids = {-1}, .seed = seed};
}

// Every prompt as one request of `samples` samples through the engine.
Throughput run_engine(model::LlamaImpl& model, const std::vector<std::vector<int32_t>>& prompts, int64_t samples,
                      int64_t max_new_tokens, const rollout::EngineOptions& options, rollout::EngineStats* stats) {
  Result<std::unique_ptr<rollout::Engine>> engine = rollout::Engine::create(model, options, nullptr);
  CARAVAN_CHECK(engine.ok(), engine.status().to_string());
  const auto start = Clock::now();
  const double cpu_start = rollout::process_cpu_seconds();
  for (size_t p = 0; p < prompts.size(); ++p) {
    rollout::EngineRequest request{.id = p, .prompt = prompts[p], .samples = {}};
    for (int64_t s = 0; s < samples; ++s) request.samples.push_back(sampling(max_new_tokens, p * 1000 + s));
    const Status added = (*engine)->add(std::move(request));
    CARAVAN_CHECK(added.ok(), added.to_string());
  }
  Throughput out;
  while (!(*engine)->idle()) {
    for (const rollout::SequenceOutput& done : (*engine)->step()) out.tokens += static_cast<int64_t>(done.tokens.size());
  }
  out.seconds = seconds_since(start);
  out.cpu_seconds = rollout::process_cpu_seconds() - cpu_start;
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

// Decode tokens/s of the engine on `prompts` (one sample each), decode groups split by context
// and padded to the longest; returns split over padded.
double context_grouping_gain(model::LlamaImpl& model, const std::vector<std::vector<int32_t>>& prompts,
                             int64_t max_new_tokens, const rollout::EngineOptions& options) {
  double decode_per_second[2] = {0, 0};
  for (const bool split : {true, false}) {
    rollout::EngineOptions grouping = options;
    grouping.group_by_context = split;
    rollout::EngineStats stats;
    const Throughput total = run_engine(model, prompts, 1, max_new_tokens, grouping, &stats);
    const double rate = static_cast<double>(stats.totals.decode_tokens) / stats.totals.decode_seconds;
    decode_per_second[split ? 0 : 1] = rate;
    std::printf("mixed   %-22s %lld tokens in %.2f s, decode %.1f tokens/s\n",
                split ? "groups by context" : "padded to the longest", static_cast<long long>(total.tokens),
                total.seconds, rate);
  }
  return decode_per_second[0] / decode_per_second[1];
}

// The run of median seconds (the lower middle one of an even count).
Throughput median_run(std::vector<Throughput> runs) {
  std::sort(runs.begin(), runs.end(), [](const Throughput& a, const Throughput& b) { return a.seconds < b.seconds; });
  return runs[(runs.size() - 1) / 2];
}

struct Contention {
  double slowdown = 0;                // threads following the free cores: loaded / as-is seconds
  double slowdown_fixed_threads = 0;  // the configured thread count throughout
  double as_is_cost = 0;              // as-is seconds following the free cores / with fixed threads
  // Following the free cores: the CPU share the busy loops took (cores used as-is / loaded), and
  // the loaded seconds over the faster of the two as-is runs.
  double cpu_share_lost = 0;
  double vs_best_as_is = 0;
};

// The engine on `prompts` as the machine is and beside one busy loop per core, with and without
// following the free cores: `rounds` alternations of as-is and loaded runs per thread policy, each
// side's median run counted (the machine's own load drifts; alternating spreads it over both).
Contention contention(model::LlamaImpl& model, const std::vector<std::vector<int32_t>>& prompts, int64_t max_new_tokens,
                      const rollout::EngineOptions& options, int rounds) {
  const int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  std::printf("contention: %zu requests, %lld new tokens, beside %d busy loops; load average %s\n", prompts.size(),
              static_cast<long long>(max_new_tokens), cores, load_average().c_str());
  Contention out;
  Throughput free_as_is;
  Throughput free_loaded;
  for (const bool follow : {true, false}) {
    rollout::EngineOptions threads = options;
    threads.follow_free_cores = follow;
    std::vector<Throughput> as_is_runs;
    std::vector<Throughput> loaded_runs;
    for (int round = 0; round < rounds; ++round) {
      as_is_runs.push_back(run_engine(model, prompts, 1, max_new_tokens, threads, nullptr));
      BusyLoops busy(cores);
      loaded_runs.push_back(run_engine(model, prompts, 1, max_new_tokens, threads, nullptr));
    }
    const Throughput as_is = median_run(as_is_runs);
    const Throughput loaded = median_run(loaded_runs);
    const double slowdown = loaded.seconds / as_is.seconds;
    std::printf("contention %-18s as-is %.2f s (%.2f cores)  loaded %.2f s (%.2f cores)  slowdown %.2fx\n",
                follow ? "free-core threads" : "fixed threads", as_is.seconds, as_is.cores(), loaded.seconds,
                loaded.cores(), slowdown);
    if (follow) {
      out.slowdown = slowdown;
      free_as_is = as_is;
      free_loaded = loaded;
    } else {
      out.slowdown_fixed_threads = slowdown;
      out.as_is_cost = free_as_is.seconds / as_is.seconds;
      out.vs_best_as_is = free_loaded.seconds / std::min(free_as_is.seconds, as_is.seconds);
    }
  }
  out.cpu_share_lost = free_as_is.cores() / free_loaded.cores();
  return out;
}

// Device-to-device copy bandwidth of cuda:0 in bytes/s (each copy reads and writes its bytes).
double copy_bandwidth() {
  const at::Tensor from = at::empty({int64_t{1} << 28}, at::TensorOptions().dtype(at::kFloat).device(at::kCUDA));
  at::Tensor to = at::empty_like(from);
  to.copy_(from);
  (void)to[0].item<float>();  // waits for the device
  const int copies = 20;
  const auto start = Clock::now();
  for (int i = 0; i < copies; ++i) to.copy_(from);
  (void)to[0].item<float>();
  return 2.0 * static_cast<double>(from.nbytes()) * copies / seconds_since(start);
}

// transformers' decode tokens/s for each batch size, from bench/transformers_generate.py; empty
// with `skipped` set when python3, torch or transformers are missing or the script fails.
std::map<int64_t, double> transformers_reference(const core::TransformerConfig& config, const std::vector<int64_t>& batches,
                                                 int64_t prompt_tokens, int64_t new_tokens, std::string* skipped) {
  std::string list;
  for (const int64_t batch : batches) list += (list.empty() ? "" : ",") + std::to_string(batch);
  const std::string command =
      str_cat("python3 ", CARAVAN_TRANSFORMERS_SCRIPT, " --batches ", list, " --prompt ", prompt_tokens, " --new ",
              new_tokens, " --vocab ", config.vocab_size, " --hidden ", config.hidden_size, " --intermediate ",
              config.intermediate_size, " --layers ", config.num_layers, " --heads ", config.num_heads, " --kv-heads ",
              config.num_kv_heads, " --head-dim ", config.head_dim(), " 2>&1");
  std::map<int64_t, double> out;
  FILE* pipe = ::popen(command.c_str(), "r");
  if (pipe == nullptr) {
    *skipped = "popen";
    return out;
  }
  std::string output;
  char line[4096];
  while (std::fgets(line, sizeof(line), pipe) != nullptr) {
    output += line;
    long long batch = 0;
    double rate = 0;
    if (std::sscanf(line, "TRANSFORMERS batch=%lld decode_tokens_per_s=%lf", &batch, &rate) == 2) out[batch] = rate;
  }
  if (::pclose(pipe) != 0 || out.size() != batches.size()) {
    std::fprintf(stderr, "transformers reference failed: %s\n%s\n", command.c_str(), output.c_str());
    *skipped = "transformers_generate.py_failed";
    out.clear();
  }
  return out;
}

int run_gpu(bool quick) {
  if (!at::hasCUDA()) {
    std::fprintf(stderr, "bench_rollout --gpu: no CUDA device (this LibTorch has no CUDA, or no GPU is visible)\n");
    return 2;
  }
  const core::TransformerConfig config = qwen3_0_6b_shape();
  model::Llama model = random_model(config, 1);
  model->to(at::Device(at::kCUDA), at::kBFloat16);
  const int64_t prompt_tokens = 128;
  const int64_t new_tokens = quick ? 32 : 128;
  const std::vector<int64_t> batches = {1, 32, 256};
  const double bandwidth = copy_bandwidth();
  const double weight_bytes = 2.0 * static_cast<double>(model->parameter_count());
  const double kv_bytes_per_position =
      static_cast<double>(rollout::PagedKvCache::block_bytes(config, 1, at::kBFloat16));
  std::printf("gpu     %s; %lld parameters (bf16, %.2f GB); copy bandwidth %.0f GB/s; prompt %lld, %lld new tokens\n",
              load_average().c_str(), static_cast<long long>(model->parameter_count()), weight_bytes / 1e9,
              bandwidth / 1e9, static_cast<long long>(prompt_tokens), static_cast<long long>(new_tokens));
  std::string skipped;
  const std::map<int64_t, double> reference = transformers_reference(config, batches, prompt_tokens, new_tokens, &skipped);
  const rollout::EngineOptions options{.kv_cache_bytes = int64_t{24} << 30, .block_size = 16,
                                       .max_step_tokens = 8192, .max_running = 256};
  std::string result = "RESULT";
  for (const int64_t batch : batches) {
    const RolloutWorkload work =
        rollout_workload(batch, prompt_tokens, prompt_tokens, new_tokens, config.vocab_size, 21);
    (void)run_engine(*model, work.prompts, 1, 2, options, nullptr);  // warm-up: kernels, allocator
    rollout::EngineStats stats;
    (void)run_engine(*model, work.prompts, 1, new_tokens, options, &stats);
    const double rate = static_cast<double>(stats.totals.decode_tokens) / stats.totals.decode_seconds;
    // Per decode step: every weight once, and each sequence's KV cache at its mean context.
    const double context = static_cast<double>(prompt_tokens) + static_cast<double>(new_tokens) / 2;
    const double step_bytes = weight_bytes + static_cast<double>(batch) * context * kv_bytes_per_position;
    const double roofline = static_cast<double>(batch) * bandwidth / step_bytes;
    const auto found = reference.find(batch);
    const double ratio = found != reference.end() ? rate / found->second : 0.0;
    std::printf("gpu     batch %3lld: engine %.1f tokens/s (%lld of %lld steps from CUDA graphs), transformers %.1f, "
                "ratio %.2f; roofline %.1f (%.2f)\n",
                static_cast<long long>(batch), rate, static_cast<long long>(stats.totals.cuda_graph_steps),
                static_cast<long long>(stats.totals.steps), found != reference.end() ? found->second : 0.0, ratio,
                roofline, rate / roofline);
    result += str_cat(" gpu_batch", batch, "_tokens_per_s=", rate, " gpu_batch", batch, "_vs_transformers=",
                      found != reference.end() ? str_cat(ratio) : std::string("skipped"), " gpu_batch", batch,
                      "_roofline_fraction=", rate / roofline);
  }
  if (!skipped.empty()) result += " transformers_skipped=" + skipped;
  std::printf("%s\n", result.c_str());
  return 0;
}

int run(int argc, char** argv) {
  std::setvbuf(stdout, nullptr, _IOLBF, 0);  // progress lines as they come
  core::CommandLine cli("bench_rollout", "Rollout engine throughput against a naive and a static-batch baseline.");
  cli.switch_flag("--quick", "a ~5 M model and 32 short requests (< 1 minute)");
  cli.switch_flag("--contention-only", "only the contention part (its RESULT fields)");
  cli.switch_flag("--gpu", "the GPU part instead: a 0.6 B model in bfloat16 on CUDA against transformers");
  cli.flag("--threads", "N", "LibTorch threads (default: every core)");
  cli.flag("--naive-requests", "N", "requests the naive baseline runs (default 4, quick 2)");
  cli.flag("--static-batch", "N", "sequences per static batch (default 32)");
  if (std::optional<int> exit_code = cli.parse_or_exit(argc, argv, 1)) return *exit_code;
  const bool quick = cli.is_set("--quick");
  if (cli.is_set("--gpu")) return run_gpu(quick);
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
  const RolloutWorkload work = quick ? rollout_workload(32, 16, 128, 16, config.vocab_size, 7)
                                     : rollout_workload(256, 64, 512, 128, config.vocab_size, 7);
  // Fixed threads, as the static and naive baselines run: the throughput comparisons measure the
  // engine, the contention part measures following the free cores.
  const rollout::EngineOptions options{.kv_cache_bytes = int64_t{1} << (quick ? 28 : 30), .block_size = 16,
                                       .max_step_tokens = 512, .max_running = 64, .follow_free_cores = false};
  std::printf("model   %lld parameters, %lld layers, width %lld; %zu requests, %lld new tokens each, %d threads\n",
              static_cast<long long>(model->parameter_count()), static_cast<long long>(config.num_layers),
              static_cast<long long>(config.hidden_size), work.prompts.size(),
              static_cast<long long>(work.max_new_tokens), at::get_num_threads());

  // Each part's wall time, so that the --quick budget (< 1 minute on a loaded machine) is visible.
  auto part_started = Clock::now();
  const auto end_part = [&part_started](const char* part) {
    std::printf("part    %s: %.1f s\n", part, seconds_since(part_started));
    part_started = Clock::now();
  };
  const std::vector<std::vector<int32_t>> few(work.prompts.begin(), work.prompts.begin() + (quick ? 8 : 16));
  const auto measure_contention = [&] {
    const Contention loaded = contention(*model, few, quick ? 16 : 64, options, quick ? 2 : 3);
    end_part("contention");
    return str_cat("contention_slowdown=", fixed_2(loaded.slowdown), " contention_cpu_share_lost=",
                   fixed_2(loaded.cpu_share_lost), " contention_vs_best_as_is=", fixed_2(loaded.vs_best_as_is),
                   " contention_slowdown_fixed_threads=", fixed_2(loaded.slowdown_fixed_threads),
                   " free_core_threads_as_is_cost=", fixed_2(loaded.as_is_cost));
  };
  if (cli.is_set("--contention-only")) {
    std::printf("RESULT %s\n", measure_contention().c_str());
    return 0;
  }

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
  end_part("engine, static, naive");

  const int64_t groups = quick ? 1 : 4;
  const int64_t prompt_tokens = quick ? 128 : 512;
  const double saving_8 = prefix_saving(*model, options, groups, prompt_tokens, 8);
  const double saving_16 = prefix_saving(*model, options, groups, prompt_tokens, 16);
  end_part("prefix sharing");

  // Mixed contexts: half the prompts short, half long (--quick: up to a quarter of the model's
  // context; full: up to ~all of it).
  const RolloutWorkload short_prompts = rollout_workload(quick ? 4 : 16, 16, 64, quick ? 24 : 64, config.vocab_size, 11);
  const RolloutWorkload long_prompts = rollout_workload(quick ? 4 : 16, quick ? 384 : 1536, quick ? 512 : 1920,
                                                        short_prompts.max_new_tokens, config.vocab_size, 12);
  std::vector<std::vector<int32_t>> mixed;
  for (size_t i = 0; i < short_prompts.prompts.size(); ++i) {
    mixed.push_back(short_prompts.prompts[i]);
    mixed.push_back(long_prompts.prompts[i]);
  }
  const double grouping_gain = context_grouping_gain(*model, mixed, short_prompts.max_new_tokens, options);
  end_part("mixed contexts");

  const std::string contention_fields = measure_contention();
  std::printf("RESULT speedup_vs_naive=%.2f speedup_vs_static=%.2f prefix_saving_g8=%.2f prefix_saving_g16=%.2f "
              "context_grouping_decode_gain=%.2f %s engine_tokens_per_s=%.1f static_tokens_per_s=%.1f "
              "naive_tokens_per_s=%.1f\n",
              engine.per_second() / naive.per_second(), engine.per_second() / fixed.per_second(), saving_8, saving_16,
              grouping_gain, contention_fields.c_str(), engine.per_second(), fixed.per_second(), naive.per_second());
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
