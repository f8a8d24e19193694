// File: bench/bench_learner.cpp
// CPU training speed of the learner on a random-weight Qwen3-shaped model (qk-norm, GQA,
// SwiGLU, tied embeddings; about 22M parameters): tokens/s of the learner's training step
// (learner::SftTrainer: the model::Llama forward over a batch layout, masked next-token cross
// entropy, clip at 1.0, AdamW) against a plain LibTorch training step of the same model written
// below (torch::nn module, dense causal attention over right-padded rows, cross_entropy, the same
// clip and AdamW), on the same weights and the same right-padded batch; and the learner with the
// batch packed (learner/sequence_batch.h) against the learner on padded rows. The batch is a
// realistic length mix: mostly short sequences, a few long ones (one at the maximum).
// Variants run round-robin, one step each per round after a warm-up round; each reports the
// median step. Tokens/s counts real tokens (no padding) in every variant.
//
//   build/bench/bench_learner --quick              # 8 sequences up to 96 tokens, 2 rounds
//   build/bench/bench_learner --threads 2 --rounds 5
//   build/bench/bench_learner --gpu                # CUDA LibTorch and a GPU (scripts/gpu-check.sh)
//
// The last line is `RESULT learner_vs_plain=... packed_vs_unpacked=... learner_tok_s=...
// plain_tok_s=... packed_tok_s=... loss_diff=...` (loss_diff: |learner - plain| loss of the
// first step on identical weights, a check that both run the same model).
//
// GPU part (--gpu, instead of the CPU part): the learner's SFT step (learner::SftTrainer, bf16
// autocast on float32 master weights, gradient checkpointing, AdamW) on cuda:0 for random models
// of Qwen3-0.6B's and Qwen2.5-1.5B's shapes, 32 sequences of 1024 tokens per step in micro-batches
// of 8192 tokens. MFU = 6 x parameters x tokens / step time / peak bf16 FLOP/s (--peak-tflops,
// default 989: H100/H200 SXM dense bf16): the model FLOPs of a training step only, not the
// recomputation of checkpointing nor attention. The last line is `RESULT gpu_<model>_tok_s=...
// gpu_<model>_mfu=...` for both models.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <torch/cuda.h>
#include <torch/nn/module.h>
#include <torch/nn/utils/clip_grad.h>
#include <torch/optim/adamw.h>

#include "bench/model_shapes.h"
#include "learner/sft_trainer.h"
#include "model/llama.h"

namespace caravan::bench {
namespace {

using Clock = std::chrono::steady_clock;

struct Settings {
  int64_t sequences = 16;
  int64_t max_length = 512;
  int64_t rounds = 5;
  int threads = 1;
  double learning_rate = 1e-4;
  bool gpu = false;
  // --gpu: the accelerator's dense bf16 peak, TFLOP/s.
  double peak_tflops = 989.0;
};

core::TransformerConfig qwen3_shaped() {
  core::TransformerConfig config;
  config.architecture = core::Architecture::kQwen3;
  config.vocab_size = 32768;
  config.hidden_size = 384;
  config.intermediate_size = 1024;
  config.num_layers = 6;
  config.num_heads = 6;
  config.num_kv_heads = 2;
  config.explicit_head_dim = 64;
  config.max_position_embeddings = 4096;
  config.rope_theta = 1000000.0;
  config.rms_norm_eps = 1e-6;
  config.tie_word_embeddings = true;
  return config;
}

// The length mix: 60% short, 30% medium, 10% long, and one sequence at the maximum.
std::vector<std::vector<int32_t>> make_batch(const Settings& s, int64_t vocab) {
  std::mt19937 random(1234);
  std::uniform_real_distribution<double> unit(0, 1);
  std::vector<std::vector<int32_t>> batch;
  for (int64_t i = 0; i < s.sequences; ++i) {
    const double u = unit(random);
    int64_t low = 16;
    int64_t high = s.max_length / 4;
    if (u >= 0.6) low = s.max_length / 4, high = s.max_length / 2;
    if (u >= 0.9) low = s.max_length / 2, high = s.max_length;
    int64_t length = std::uniform_int_distribution<int64_t>(low, high)(random);
    if (i == 0) length = s.max_length;
    std::vector<int32_t> ids(static_cast<size_t>(length));
    for (int32_t& id : ids) id = std::uniform_int_distribution<int32_t>(0, static_cast<int32_t>(vocab) - 1)(random);
    batch.push_back(std::move(ids));
  }
  return batch;
}

// A straightforward Qwen3 in torch::nn style over right-padded [B, L] rows, its parameters copies
// of a model::Llama's (Hugging Face names, '.' spelled '_').
class PlainQwen3 : public torch::nn::Module {
 public:
  PlainQwen3(model::LlamaImpl& source, const core::TransformerConfig& config) : config_(config) {
    for (const auto& item : source.named_parameters(/*recurse=*/true)) {
      std::string name = item.key();
      std::replace(name.begin(), name.end(), '.', '_');
      register_parameter(name, item.value().detach().clone());
    }
  }

  // Mean cross entropy of tokens[:, 1:] over the cells where mask is 1.
  at::Tensor loss(const at::Tensor& tokens, const at::Tensor& mask) {
    const int64_t rows = tokens.size(0);
    const int64_t length = tokens.size(1);
    const int64_t heads = config_.num_heads;
    const int64_t kv_heads = config_.num_kv_heads;
    const int64_t head_dim = config_.head_dim();
    at::Tensor h = at::embedding(p("model_embed_tokens_weight"), tokens);
    // RoPE tables [L, head_dim].
    const at::Tensor inv_freq =
        at::pow(config_.rope_theta, at::arange(0, head_dim, 2, at::kFloat) / static_cast<double>(head_dim)).reciprocal();
    const at::Tensor freqs = at::outer(at::arange(length, at::kFloat), inv_freq);
    const at::Tensor cos = at::cat({freqs, freqs}, -1).cos();
    const at::Tensor sin = at::cat({freqs, freqs}, -1).sin();
    const auto rope = [&](const at::Tensor& x) {
      const int64_t half = head_dim / 2;
      const at::Tensor rotated = at::cat({-x.slice(-1, half), x.slice(-1, 0, half)}, -1);
      return x * cos + rotated * sin;
    };
    const at::Tensor causal = at::ones({length, length}, at::kBool).tril();
    for (int64_t i = 0; i < config_.num_layers; ++i) {
      const std::string layer = "model_layers_" + std::to_string(i) + "_";
      const at::Tensor x = rms_norm(h, p(layer + "input_layernorm_weight"));
      at::Tensor q = at::linear(x, p(layer + "self_attn_q_proj_weight")).view({rows, length, heads, head_dim});
      at::Tensor k = at::linear(x, p(layer + "self_attn_k_proj_weight")).view({rows, length, kv_heads, head_dim});
      at::Tensor v = at::linear(x, p(layer + "self_attn_v_proj_weight")).view({rows, length, kv_heads, head_dim});
      q = rope(rms_norm(q, p(layer + "self_attn_q_norm_weight")).transpose(1, 2));
      k = rope(rms_norm(k, p(layer + "self_attn_k_norm_weight")).transpose(1, 2));
      v = v.transpose(1, 2);
      k = k.repeat_interleave(heads / kv_heads, 1);
      v = v.repeat_interleave(heads / kv_heads, 1);
      const at::Tensor scores =
          at::matmul(q, k.transpose(-1, -2)) / std::sqrt(static_cast<double>(head_dim));
      const at::Tensor probs = at::softmax(scores.masked_fill(causal.logical_not(), -INFINITY), -1);
      const at::Tensor attended = at::matmul(probs, v).transpose(1, 2).reshape({rows, length, heads * head_dim});
      h = h + at::linear(attended, p(layer + "self_attn_o_proj_weight"));
      const at::Tensor y = rms_norm(h, p(layer + "post_attention_layernorm_weight"));
      const at::Tensor gate = at::silu(at::linear(y, p(layer + "mlp_gate_proj_weight")));
      h = h + at::linear(gate * at::linear(y, p(layer + "mlp_up_proj_weight")), p(layer + "mlp_down_proj_weight"));
    }
    h = rms_norm(h, p("model_norm_weight"));
    const at::Tensor logits = at::linear(h.slice(1, 0, length - 1), p("model_embed_tokens_weight"));
    const at::Tensor targets = tokens.slice(1, 1).masked_fill(mask == 0, -100);
    return at::cross_entropy_loss(logits.reshape({-1, config_.vocab_size}), targets.reshape({-1}), {},
                                  at::Reduction::Mean, /*ignore_index=*/-100);
  }

 private:
  at::Tensor p(const std::string& name) { return named_parameters()[name]; }

  at::Tensor rms_norm(const at::Tensor& x, const at::Tensor& weight) const {
    return x * at::rsqrt(x.pow(2).mean(-1, /*keepdim=*/true) + config_.rms_norm_eps) * weight;
  }

  core::TransformerConfig config_;
};

// One training step of the plain model: forward, backward, clip at 1.0, AdamW.
double plain_step(PlainQwen3& model, torch::optim::AdamW& optimizer, const at::Tensor& tokens, const at::Tensor& mask) {
  optimizer.zero_grad();
  const at::Tensor loss = model.loss(tokens, mask);
  loss.backward();
  torch::nn::utils::clip_grad_norm_(model.parameters(), learner::SftTrainer::kMaxGradNorm);
  optimizer.step();
  return loss.item<double>();
}

double median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  return values[values.size() / 2];
}

int run(const Settings& s) {
  at::set_num_threads(s.threads);
  const core::TransformerConfig config = qwen3_shaped();
  const std::vector<std::vector<int32_t>> batch = make_batch(s, config.vocab_size);
  std::vector<learner::TrainingSequence> sequences;
  int64_t tokens = 0;
  int64_t longest = 0;
  for (const std::vector<int32_t>& ids : batch) {
    learner::TrainingSequence sequence{.ids = ids, .loss_mask = std::vector<uint8_t>(ids.size(), 1)};
    sequence.loss_mask[0] = 0;
    sequences.push_back(std::move(sequence));
    tokens += static_cast<int64_t>(ids.size());
    longest = std::max(longest, static_cast<int64_t>(ids.size()));
  }
  // The plain model's right-padded rows and target mask.
  at::Tensor padded = at::zeros({s.sequences, longest}, at::kLong);
  at::Tensor mask = at::zeros({s.sequences, longest - 1}, at::kFloat);
  for (int64_t b = 0; b < s.sequences; ++b) {
    const std::vector<int32_t>& ids = batch[static_cast<size_t>(b)];
    const auto n = static_cast<int64_t>(ids.size());
    padded[b].slice(0, 0, n).copy_(at::tensor(std::vector<int64_t>(ids.begin(), ids.end()), at::kLong));
    mask[b].slice(0, 0, n - 1).fill_(1.0f);
  }

  learner::SftOptions options;
  options.learning_rate = s.learning_rate;
  options.warmup_steps = 0;
  at::manual_seed(0);
  model::Llama padded_model(config);
  PlainQwen3 plain(*padded_model, config);
  torch::optim::AdamW plain_optimizer(plain.parameters(), torch::optim::AdamWOptions(s.learning_rate).weight_decay(0.0));
  learner::SftTrainer padded_trainer(padded_model, options, /*pad_id=*/0);
  at::manual_seed(0);
  options.batching.pack_sequences = true;
  learner::SftTrainer packed_trainer(model::Llama(config), options, /*pad_id=*/0);
  int64_t parameters = 0;
  for (const at::Tensor& p : padded_model->parameters()) parameters += p.numel();
  std::printf("model: Qwen3-shaped, %.1fM parameters; batch: %lld sequences, %lld tokens, padded to %lld x %lld = %lld; "
              "threads %d\n",
              static_cast<double>(parameters) / 1e6, static_cast<long long>(s.sequences),
              static_cast<long long>(tokens), static_cast<long long>(s.sequences), static_cast<long long>(longest),
              static_cast<long long>(s.sequences * longest), s.threads);

  std::vector<double> plain_s;
  std::vector<double> learner_s;
  std::vector<double> packed_s;
  double loss_diff = 0;
  const auto timed = [](const auto& fn, std::vector<double>* out) {
    const auto start = Clock::now();
    const double loss = fn();
    if (out != nullptr) out->push_back(std::chrono::duration<double>(Clock::now() - start).count());
    return loss;
  };
  for (int64_t round = 0; round <= s.rounds; ++round) {
    // Round 0 warms up (and compares the first losses on identical weights).
    const bool measured = round > 0;
    const double plain_loss = timed([&] { return plain_step(plain, plain_optimizer, padded, mask); },
                                    measured ? &plain_s : nullptr);
    const double learner_loss = timed([&] { return padded_trainer.step(sequences).value().loss; },
                                      measured ? &learner_s : nullptr);
    const double packed_loss = timed([&] { return packed_trainer.step(sequences).value().loss; },
                                     measured ? &packed_s : nullptr);
    if (round == 0) loss_diff = std::max(std::abs(plain_loss - learner_loss), std::abs(packed_loss - learner_loss));
    std::printf("round %lld: loss plain %.5f learner %.5f packed %.5f\n", static_cast<long long>(round), plain_loss,
                learner_loss, packed_loss);
  }
  const double plain_tok_s = static_cast<double>(tokens) / median(plain_s);
  const double learner_tok_s = static_cast<double>(tokens) / median(learner_s);
  const double packed_tok_s = static_cast<double>(tokens) / median(packed_s);
  std::printf("median step: plain %.3f s, learner (padded) %.3f s, learner (packed) %.3f s\n", median(plain_s),
              median(learner_s), median(packed_s));
  std::printf("RESULT learner_vs_plain=%.2f packed_vs_unpacked=%.2f learner_tok_s=%.0f plain_tok_s=%.0f "
              "packed_tok_s=%.0f loss_diff=%.2g\n",
              learner_tok_s / plain_tok_s, packed_tok_s / learner_tok_s, learner_tok_s, plain_tok_s, packed_tok_s,
              loss_diff);
  return 0;
}

// The --gpu models: Qwen3-0.6B's shape (per-head QK-norm, GQA 16/8) and Qwen2.5-1.5B's (QKV
// bias, GQA 12/2), both with a tied 151936-token vocabulary.
struct GpuModel {
  const char* name;
  core::TransformerConfig config;
};

std::vector<GpuModel> gpu_models() {
  const core::TransformerConfig small = qwen3_0_6b_shape();
  core::TransformerConfig large = small;
  large.architecture = core::Architecture::kQwen2;
  large.hidden_size = 1536;
  large.intermediate_size = 8960;
  large.num_heads = 12;
  large.num_kv_heads = 2;
  large.explicit_head_dim = 0;
  return {{"qwen3_0_6b", small}, {"qwen2_5_1_5b", large}};
}

int run_gpu(const Settings& s, bool quick) {
  if (torch::cuda::device_count() == 0) {
    std::fprintf(stderr, "bench_learner --gpu: no CUDA device (this LibTorch has no CUDA, or no GPU is visible)\n");
    return 2;
  }
  const int64_t sequences = 32;
  const int64_t length = 1024;
  const int64_t measured_steps = quick ? 3 : 8;
  learner::SftOptions options;
  options.learning_rate = s.learning_rate;
  options.warmup_steps = 0;
  options.gradient_checkpointing = true;
  options.bf16_autocast = true;
  options.batching.micro_batch_tokens = 8192;
  std::string result;
  for (const GpuModel& gpu_model : gpu_models()) {
    std::vector<learner::TrainingSequence> batch;
    std::mt19937 random(7);
    std::uniform_int_distribution<int32_t> token(0, static_cast<int32_t>(gpu_model.config.vocab_size) - 1);
    for (int64_t i = 0; i < sequences; ++i) {
      learner::TrainingSequence sequence;
      for (int64_t t = 0; t < length; ++t) sequence.ids.push_back(token(random));
      sequence.loss_mask.assign(static_cast<size_t>(length), 1);
      sequence.loss_mask[0] = 0;
      batch.push_back(std::move(sequence));
    }
    at::manual_seed(0);
    model::Llama model(gpu_model.config);
    model->to(at::Device(at::kCUDA));
    const auto parameters = static_cast<double>(model->parameter_count());
    learner::SftTrainer trainer(model, options, /*pad_id=*/0);
    // Waits for the device: the step's last kernels (AdamW) may still be queued when it returns.
    const auto synchronized_step = [&] {
      const double loss = trainer.step(batch).value().loss;
      torch::cuda::synchronize();
      return loss;
    };
    synchronized_step();  // warm-up: cuBLAS handles, the caching allocator's pools
    std::vector<double> step_s;
    double loss = 0;
    for (int64_t step = 0; step < measured_steps; ++step) {
      const auto start = Clock::now();
      loss = synchronized_step();
      step_s.push_back(std::chrono::duration<double>(Clock::now() - start).count());
    }
    const double seconds = median(step_s);
    const auto tokens = static_cast<double>(sequences * length);
    const double mfu = 6.0 * parameters * tokens / seconds / (s.peak_tflops * 1e12);
    std::printf("gpu %s: %.2fB parameters, %lld x %lld tokens per step, median step %.3f s, %.0f tokens/s, "
                "MFU %.1f%% of %.0f TFLOP/s (loss %.3f)\n",
                gpu_model.name, parameters / 1e9, static_cast<long long>(sequences), static_cast<long long>(length),
                seconds, tokens / seconds, 100.0 * mfu, s.peak_tflops, loss);
    char fields[160];
    std::snprintf(fields, sizeof(fields), " gpu_%s_tok_s=%.0f gpu_%s_mfu=%.3f", gpu_model.name, tokens / seconds,
                  gpu_model.name, mfu);
    result += fields;
  }
  std::printf("RESULT%s\n", result.c_str());
  return 0;
}

} // namespace
} // namespace caravan::bench

int main(int argc, char** argv) {
  caravan::bench::Settings settings;
  bool quick = false;
  constexpr const char* kUsage = "usage: bench_learner [--quick] [--threads N] [--rounds N] [--gpu [--peak-tflops T]]\n";
  for (int i = 1; i < argc; ++i) {
    const bool has_value = i + 1 < argc;
    if (std::strcmp(argv[i], "--quick") == 0) {
      settings.sequences = 8;
      settings.max_length = 96;
      settings.rounds = 2;
      quick = true;
    } else if (std::strcmp(argv[i], "--help") == 0) {
      std::fputs(kUsage, stdout);
      return 0;
    } else if (std::strcmp(argv[i], "--gpu") == 0) {
      settings.gpu = true;
    } else if (std::strcmp(argv[i], "--peak-tflops") == 0 && has_value) {
      settings.peak_tflops = std::atof(argv[++i]);
    } else if (std::strcmp(argv[i], "--threads") == 0 && has_value) {
      settings.threads = std::max(1, std::atoi(argv[++i]));
    } else if (std::strcmp(argv[i], "--rounds") == 0 && has_value) {
      settings.rounds = std::max(1, std::atoi(argv[++i]));
    } else {
      std::fputs(kUsage, stderr);
      return 2;
    }
  }
  if (settings.gpu) {
    if (!(settings.peak_tflops > 0)) {
      std::fprintf(stderr, "bench_learner: --peak-tflops must be > 0\n");
      return 2;
    }
    return caravan::bench::run_gpu(settings, quick);
  }
  return caravan::bench::run(settings);
}
