// The rollout engine on CUDA tensors (issue 19 point 10). Built with -DCARAVAN_WITH_CUDA=ON and run
// by scripts/gpu-check.sh on a GPU machine; every test skips when no GPU is visible.
#include <gtest/gtest.h>

#include <cstdio>

#include <ATen/ATen.h>

#include "actors/rollout/device_memory.h"
#include "actors/rollout/engine.h"
#include "tests/actors/engine_harness.h"
#include "tests/common/tiny_transformer.h"

namespace caravan::rollout {
namespace {

class EngineOnCuda : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!at::hasCUDA()) GTEST_SKIP() << "no CUDA device";
  }
};

class EngineOnCudaGraphs : public EngineOnCuda, public ::testing::WithParamInterface<bool> {};

// float32 on the GPU: the paged engine (sharing, chunked prefill, decode groups split by context;
// with the parameter, decode steps replayed from CUDA graphs) gives the full recompute's greedy
// tokens, both on the GPU.
TEST_P(EngineOnCudaGraphs, GreedyMatchesTheFullRecomputeInFloat32) {
  const bool graphs = GetParam();
  torch::manual_seed(21);
  core::TransformerConfig config = testing::tiny_transformer_config(40, core::Architecture::kQwen3);
  config.max_position_embeddings = 512;
  model::Llama model(config);
  model->eval();
  model->to(at::Device(at::kCUDA));
  Engine engine(*model, {.block_size = 4, .max_step_tokens = 64, .max_running = 6, .cuda_graphs = graphs},
                /*num_blocks=*/160, nullptr, 0);
  const std::vector<std::vector<int32_t>> prompts = {prompt_of(420, 1), prompt_of(5, 2), prompt_of(17, 3),
                                                     prompt_of(3, 4)};
  const std::vector<uint32_t> samples = {1, 3, 2, 1};
  for (size_t r = 0; r < prompts.size(); ++r) {
    ASSERT_TRUE(engine.add({.id = r, .prompt = prompts[r], .samples = std::vector(samples[r], greedy(8))}).ok());
  }
  const auto out = run_to_end(engine);
  for (size_t r = 0; r < prompts.size(); ++r) {
    const std::vector<int32_t> expected = greedy_reference(*model, prompts[r], 8);
    for (uint32_t s = 0; s < samples[r]; ++s) {
      ASSERT_TRUE(out.contains({r, s})) << "request " << r << " sample " << s;
      EXPECT_EQ(out.at({r, s}).tokens, expected) << "request " << r << " sample " << s;
    }
  }
  const EngineStats stats = engine.stats();
  EXPECT_GT(stats.totals.prefix_cached_tokens, 0);
  EXPECT_EQ(stats.kv_blocks_used, graphs ? 1 : 0);  // the graphs' scratch block for padding rows
  if (graphs) {
    EXPECT_GT(stats.totals.cuda_graph_steps, 0);
  } else {
    EXPECT_EQ(stats.totals.cuda_graph_steps, 0);
  }
}

INSTANTIATE_TEST_SUITE_P(Engine, EngineOnCudaGraphs, ::testing::Bool(),
                         [](const auto& info) { return info.param ? "graphs" : "eager"; });

// bfloat16 weights and KV cache on the GPU (decode steps from CUDA graphs): every sample runs to
// its length, and the logprob of each sampled token is within bfloat16 rounding of the float32
// model's recomputation.
TEST_F(EngineOnCuda, Bfloat16LogprobsAgreeWithFloat32Recomputation) {
  torch::manual_seed(22);
  const core::TransformerConfig config = testing::tiny_transformer_config(40, core::Architecture::kQwen3);
  model::Llama reference(config);
  reference->eval();
  reference->to(at::Device(at::kCUDA));
  model::Llama model(config);
  model->eval();
  {
    torch::NoGradGuard no_grad;
    for (auto& item : model->named_parameters()) item.value().copy_(reference->named_parameters()[item.key()]);
  }
  model->to(at::Device(at::kCUDA), at::kBFloat16);
  Engine engine(*model, {.block_size = 4}, /*num_blocks=*/64, nullptr, 0);
  const std::vector<int32_t> prompt = prompt_of(9, 5);
  SamplingParams params{.temperature = 1.0, .max_new_tokens = 10, .stop_ids = {-1}, .seed = 3};
  ASSERT_TRUE(engine.add({.id = 0, .prompt = prompt, .samples = {params, params}}).ok());
  const auto out = run_to_end(engine);
  EXPECT_GT(engine.stats().totals.cuda_graph_steps, 0);
  for (uint32_t s = 0; s < 2; ++s) {
    const SequenceOutput& got = out.at({0, s});
    ASSERT_EQ(got.tokens.size(), 10u);
    std::vector<int64_t> sequence(prompt.begin(), prompt.end());
    sequence.insert(sequence.end(), got.tokens.begin(), got.tokens.end());
    torch::NoGradGuard no_grad;
    const at::Tensor logits =
        testing::row_logits(*reference, at::tensor(sequence).unsqueeze(0).to(at::kCUDA))[0].slice(0, 8, -1);
    const at::Tensor expected = at::log_softmax(logits, -1)
                                    .gather(1, at::tensor(sequence).slice(0, 9).unsqueeze(1).to(at::kCUDA))
                                    .squeeze(1)
                                    .cpu();
    const at::Tensor actual = at::tensor(got.logprobs);
    EXPECT_LT((actual - expected).abs().max().item<float>(), 0.05f) << actual << expected;
  }
}

// kv_cache_fraction on a CUDA engine is a fraction of the GPU's free memory, not of the host's.
// The fraction is small enough that the cap of max_running full-context sequences stays above it.
TEST_F(EngineOnCuda, KvCacheFractionSizesFromTheDevicesFreeMemory) {
  torch::manual_seed(23);
  const core::TransformerConfig config = testing::tiny_transformer_config(40, core::Architecture::kQwen3);
  model::Llama model(config);
  model->eval();
  model->to(at::Device(at::kCUDA));
  const EngineOptions options{.kv_cache_fraction = 1e-6, .block_size = 4};
  const Result<int64_t> device_free = available_memory_bytes(at::Device(at::kCUDA, 0));
  ASSERT_TRUE(device_free.ok()) << device_free.status().to_string();
  const Result<int64_t> expected = kv_cache_blocks(options, config, at::kFloat, *device_free);
  ASSERT_TRUE(expected.ok()) << expected.status().to_string();
  ASSERT_LT(*expected, options.max_running * ((config.max_position_embeddings + 3) / 4 + 1)) << "the cap decides";
  Result<std::unique_ptr<Engine>> engine = Engine::create(*model, options, nullptr);
  ASSERT_TRUE(engine.ok()) << engine.status().to_string();
  // The free memory may move by a few MiB between the two reads: a block or two at this fraction.
  EXPECT_NEAR(static_cast<double>((*engine)->cache().blocks().num_blocks()), static_cast<double>(*expected), 2.0);
  const Result<int64_t> host = available_memory_bytes(at::Device(at::kCPU));
  ASSERT_TRUE(host.ok());
  std::printf("kv_cache_fraction 1e-6: %lld blocks from %lld free device bytes (host: %lld available)\n",
              static_cast<long long>((*engine)->cache().blocks().num_blocks()), static_cast<long long>(*device_free),
              static_cast<long long>(*host));
}

} // namespace
} // namespace caravan::rollout
