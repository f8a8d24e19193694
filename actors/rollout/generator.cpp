#include "actors/rollout/generator.h"

#include <algorithm>

#include <ATen/ATen.h>
#include <torch/csrc/autograd/grad_mode.h>

#include "core/status.h"
#include "model/kv_cache.h"

namespace caravan::rollout {
namespace {

// Left-pads prompts into [B, P] token ids and the matching bool mask.
std::pair<at::Tensor, at::Tensor> left_pad(const std::vector<std::vector<int32_t>>& prompts, int64_t width,
                                           int32_t pad_id) {
  const int64_t batch = static_cast<int64_t>(prompts.size());
  at::Tensor tokens = at::full({batch, width}, pad_id, at::kLong);
  at::Tensor mask = at::zeros({batch, width}, at::kBool);
  auto tokens_a = tokens.accessor<int64_t, 2>();
  auto mask_a = mask.accessor<bool, 2>();
  for (int64_t b = 0; b < batch; ++b) {
    const auto& prompt = prompts[b];
    const int64_t offset = width - static_cast<int64_t>(prompt.size());
    for (size_t i = 0; i < prompt.size(); ++i) {
      tokens_a[b][offset + static_cast<int64_t>(i)] = prompt[i];
      mask_a[b][offset + static_cast<int64_t>(i)] = true;
    }
  }
  return {tokens, mask};
}

}  // namespace

std::vector<GeneratedSequence> generate(model::LlamaImpl& model, const std::vector<std::vector<int32_t>>& prompts,
                                        const GenerationOptions& options) {
  torch::NoGradGuard no_grad;
  std::vector<GeneratedSequence> out(prompts.size());
  if (prompts.empty()) return out;
  size_t width = 0;
  for (const auto& prompt : prompts) {
    CARAVAN_CHECK(!prompt.empty(), "generate: empty prompt");
    width = std::max(width, prompt.size());
  }
  const SamplingParams& sampling = options.sampling;
  const Status valid = sampling.validate();
  CARAVAN_CHECK(valid.ok(), "generate: ", valid.message());
  const int64_t max_len = static_cast<int64_t>(width) + sampling.max_new_tokens;
  CARAVAN_CHECK(max_len <= model.config().max_position_embeddings, "generate: prompt (", width, ") + max_new_tokens (",
                sampling.max_new_tokens, ") exceeds max_position_embeddings (", model.config().max_position_embeddings, ")");
  CARAVAN_CHECK(options.row_seeds.empty() || options.row_seeds.size() == prompts.size(), "generate: ",
                options.row_seeds.size(), " row seeds for ", prompts.size(), " prompts");

  const at::Device device = model.parameters().front().device();
  auto [tokens, mask] = left_pad(prompts, static_cast<int64_t>(width), options.pad_id);
  tokens = tokens.to(device);
  mask = mask.to(device);
  at::Tensor positions = (mask.to(at::kLong).cumsum(1) - 1).clamp_min(0);
  const int64_t batch = tokens.size(0);
  model::KvCache cache(model.config(), batch, max_len, model.parameters().front().scalar_type(), device);
  std::vector<SequenceSampler> samplers;
  samplers.reserve(prompts.size());
  for (size_t b = 0; b < prompts.size(); ++b) {
    SamplingParams row = sampling;
    row.seed = options.row_seeds.empty() ? sampling_seed(sampling.seed, b, 0) : options.row_seeds[b];
    samplers.emplace_back(std::move(row), prompts[b], options.token_text);
  }

  at::Tensor logits = model.forward(tokens, positions, mask, &cache).select(1, -1);  // [B, V]
  at::Tensor next_position = positions.select(1, -1) + 1;                            // [B]
  for (int64_t step = 0;; ++step) {
    // Finished rows draw nothing; they keep decoding pad tokens that nothing attends to.
    std::vector<SequenceSampler*> alive;
    std::vector<int64_t> alive_rows;
    for (int64_t b = 0; b < batch; ++b) {
      if (samplers[b].finished()) continue;
      alive.push_back(&samplers[b]);
      alive_rows.push_back(b);
    }
    const at::Tensor alive_logits =
        static_cast<int64_t>(alive_rows.size()) == batch
            ? logits
            : logits.index_select(0, at::tensor(at::ArrayRef<int64_t>(alive_rows)).to(device));
    std::vector<SampledToken> sampled = sample_tokens(alive_logits, alive);
    std::vector<int64_t> next(static_cast<size_t>(batch), options.pad_id);
    std::vector<size_t> ended;
    for (size_t i = 0; i < alive_rows.size(); ++i) {
      const auto b = static_cast<size_t>(alive_rows[i]);
      next[b] = sampled[i].token;
      out[b].tokens.push_back(sampled[i].token);
      out[b].logprobs.push_back(sampled[i].logprob);
      if (sampling.top_logprobs > 0) out[b].top_logprobs.push_back(std::move(sampled[i].top));
      if (samplers[b].finished()) {
        out[b].finish_reason = samplers[b].finish_reason();
        ended.push_back(b);
      }
    }
    if (options.on_step) options.on_step(step, out, ended);
    if (ended.size() == alive_rows.size() || options.stop.stop_requested()) break;
    std::vector<uint8_t> alive_after(static_cast<size_t>(batch));
    for (int64_t b = 0; b < batch; ++b) alive_after[static_cast<size_t>(b)] = !samplers[b].finished();
    const at::Tensor alive_mask = at::tensor(at::ArrayRef<uint8_t>(alive_after)).to(at::kBool).to(device);
    mask = at::cat({mask, alive_mask.unsqueeze(1)}, 1);
    const at::Tensor next_tokens = at::tensor(at::ArrayRef<int64_t>(next)).to(device);
    logits = model.forward(next_tokens.unsqueeze(1), next_position.unsqueeze(1), mask, &cache).select(1, 0);
    next_position = next_position + 1;
  }
  return out;
}

} // namespace caravan::rollout
