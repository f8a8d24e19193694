// The learner on CUDA tensors (issue 20): the GRPO, SFT and DPO steps on a GPU, and data-parallel
// ranks over NCCL summing gradients in device memory. Built with -DCARAVAN_WITH_CUDA=ON and run by
// scripts/gpu-check.sh on a GPU machine; every test skips when no GPU is visible.
#include <gtest/gtest.h>

#include <memory>
#include <vector>

#include <ATen/ATen.h>

#include "learner/data_parallel.h"
#include "learner/dpo_trainer.h"
#include "learner/grpo_trainer.h"
#include "learner/sft_trainer.h"
#include "tests/learner/trainer_test_util.h"
#include "tests/weights_sync/loopback_group.h"
#include "weights_sync/communicator.h"

namespace caravan::learner {
namespace {

const at::Device kCuda(at::kCUDA);

class LearnerOnCuda : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!at::hasCUDA()) GTEST_SKIP() << "no CUDA device";
  }
};

// The same tiny policy on the CPU and on the GPU.
std::pair<model::Llama, model::Llama> twins(uint64_t seed) {
  model::Llama cpu = testing::tiny_llama(seed);
  model::Llama gpu = testing::tiny_llama(seed);
  gpu->to(kCuda);
  return {cpu, gpu};
}

double max_difference(const model::LlamaImpl& cpu, const model::LlamaImpl& gpu) {
  const std::vector<at::Tensor> a = cpu.parameters();
  const std::vector<at::Tensor> b = gpu.parameters();
  double difference = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_TRUE(b[i].is_cuda());
    EXPECT_EQ(b[i].scalar_type(), at::kFloat);
    difference = std::max(difference, (a[i] - b[i].cpu()).abs().max().item<double>());
  }
  return difference;
}

// float32 on the GPU: one GRPO step (reference forward, chunked logprobs, KL in the loss, AdamW)
// moves the weights as the CPU step does, within float32 rounding.
TEST_F(LearnerOnCuda, GrpoStepMatchesTheCpuStepInFloat32) {
  auto [cpu, gpu] = twins(/*seed=*/3);
  const std::vector<RolloutGroup> groups = testing::rewarded_groups(*cpu);
  GrpoTrainer cpu_trainer(cpu, testing::grpo_test_options(), testing::rollout_test_options(), /*pad_id=*/0);
  GrpoTrainer gpu_trainer(gpu, testing::grpo_test_options(), testing::rollout_test_options(), /*pad_id=*/0);
  Result<GrpoStepStats> on_cpu = cpu_trainer.step(groups, /*policy_version=*/0);
  Result<GrpoStepStats> on_gpu = gpu_trainer.step(groups, /*policy_version=*/0);
  ASSERT_TRUE(on_cpu.ok()) << on_cpu.status().to_string();
  ASSERT_TRUE(on_gpu.ok()) << on_gpu.status().to_string();
  EXPECT_NEAR(on_gpu->loss, on_cpu->loss, 1e-4);
  EXPECT_NEAR(on_gpu->grad_norm, on_cpu->grad_norm, 1e-3 * on_cpu->grad_norm);
  EXPECT_LT(max_difference(*cpu, *gpu), 1e-4);
}

// bf16 autocast with gradient checkpointing on the GPU (the stages' GPU settings): the SFT and DPO
// losses stay within bfloat16 rounding of the CPU's float32 ones, the weights float32.
TEST_F(LearnerOnCuda, SftAndDpoStepsRunInBf16AutocastOnFloat32Weights) {
  {
    auto [cpu, gpu] = twins(/*seed=*/4);
    SftOptions options;
    options.learning_rate = 1e-2;
    options.warmup_steps = 0;
    const std::vector<SftExample> batch = {{.prompt = {1, 49, 43, 50, 61}, .target = {51, 2}},
                                           {.prompt = {1, 52, 43, 53, 61}, .target = {56, 57, 2}}};
    const double cpu_loss = SftTrainer(cpu, options, /*pad_id=*/0).step(batch).value().loss;
    options.bf16_autocast = true;
    options.gradient_checkpointing = true;
    const double gpu_loss = SftTrainer(gpu, options, /*pad_id=*/0).step(batch).value().loss;
    EXPECT_NEAR(gpu_loss, cpu_loss, 0.05);
    EXPECT_LT(max_difference(*cpu, *gpu), 0.05);
  }
  {
    auto [cpu, gpu] = twins(/*seed=*/5);
    DpoOptions options;
    options.learning_rate = 1e-3;
    options.beta = 0.5;
    const auto sequence = [](std::vector<int32_t> response) {
      TrainingSequence s{.ids = {1, 2, 3}, .loss_mask = {0, 0, 0}};
      s.ids.insert(s.ids.end(), response.begin(), response.end());
      s.loss_mask.resize(s.ids.size(), 1);
      return s;
    };
    const std::vector<PreferencePair> pairs = {{.chosen = sequence({40, 41}), .rejected = sequence({50, 51, 52})}};
    const double cpu_loss = DpoTrainer(cpu, options, /*pad_id=*/0).step(pairs).value().metrics.loss;
    options.bf16_autocast = true;
    options.gradient_checkpointing = true;
    const double gpu_loss = DpoTrainer(gpu, options, /*pad_id=*/0).step(pairs).value().metrics.loss;
    EXPECT_NEAR(gpu_loss, cpu_loss, 0.05);
  }
}

// A data-parallel rank on the GPU sums its gradients over NCCL in device memory: with one rank the
// step equals the single learner's on the GPU bit for bit (the sum over one rank is the identity).
TEST_F(LearnerOnCuda, DataParallelOverNcclInDeviceMemoryEqualsOneLearner) {
  auto [reference_policy, gpu] = twins(/*seed=*/6);
  reference_policy->to(kCuda);
  const std::vector<RolloutGroup> groups = testing::rewarded_groups(*testing::tiny_llama(/*seed=*/6));
  wsync::CommunicatorOptions options;
  options.world_size = 1;
  options.store = wsync::testing::serve_loopback_store();
  options.scope = "learner-gpu-test/";
  auto communicator = wsync::make_communicator("nccl", options);
  ASSERT_TRUE(communicator.ok()) << communicator.status().to_string();
  DataParallel data_parallel(std::move(*communicator));
  GrpoTrainer single(reference_policy, testing::grpo_test_options(), testing::rollout_test_options(), 0);
  GrpoTrainer rank(gpu, testing::grpo_test_options(), testing::rollout_test_options(), 0, nullptr, &data_parallel);
  ASSERT_TRUE(single.step(groups, 0).ok());
  Result<GrpoStepStats> stats = rank.step(groups, 0);
  ASSERT_TRUE(stats.ok()) << stats.status().to_string();
  EXPECT_EQ(max_difference(*reference_policy, *gpu), 0.0);
}

} // namespace
} // namespace caravan::learner
