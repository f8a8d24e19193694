#include "actors/rollout/generator.h"

#include <algorithm>

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <torch/csrc/autograd/grad_mode.h>

#include "core/hash.h"
#include "core/status.h"
#include "model/kv_cache.h"
#include "model/logprobs.h"

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

// Zeroes, per row of `probs` [B, V], every token outside the smallest set of most likely tokens
// whose mass reaches top_p (as transformers' TopPLogitsWarper: a token goes when the mass of
// the tokens less likely than it is at most 1 - top_p; the most likely token always stays).
at::Tensor nucleus(const at::Tensor& probs, double top_p) {
  if (top_p >= 1.0) return probs;
  const auto [sorted, order] = probs.sort(/*dim=*/-1, /*descending=*/false);
  at::Tensor remove_sorted = sorted.cumsum(-1) <= (1.0 - top_p);
  remove_sorted.select(-1, -1).fill_(false);
  const at::Tensor remove = at::zeros_like(remove_sorted).scatter(-1, order, remove_sorted);
  return probs.masked_fill(remove, 0.0);
}

// One token per row of `logits` [B, V]: argmax when greedy, else drawn by row b's own
// generator from its temperature-scaled, nucleus-truncated distribution. Rows in `finished`
// draw nothing (their entry is 0).
at::Tensor sample_next(const at::Tensor& logits, const GenerationOptions& options, std::vector<at::Generator>& generators,
                       const at::Tensor& finished) {
  if (options.temperature <= 0) return logits.argmax(-1).to(at::kCPU);
  const at::Tensor probs = nucleus(at::softmax(logits.to(at::kCPU) / options.temperature, -1), options.top_p);
  at::Tensor next = at::zeros({probs.size(0)}, at::kLong);
  auto next_a = next.accessor<int64_t, 1>();
  auto finished_a = finished.accessor<bool, 1>();
  for (int64_t b = 0; b < probs.size(0); ++b) {
    if (finished_a[b]) continue;
    next_a[b] = at::multinomial(probs[b], 1, /*replacement=*/false, generators[b]).item<int64_t>();
  }
  return next;
}

}  // namespace

uint64_t sampling_seed(uint64_t seed, uint64_t prompt_index, uint64_t sample_index) {
  return core::splitmix64(seed ^ core::splitmix64(prompt_index ^ core::splitmix64(sample_index)));
}

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
  const int64_t max_len = static_cast<int64_t>(width) + options.max_new_tokens;
  CARAVAN_CHECK(max_len <= model.config().max_position_embeddings, "generate: prompt (", width, ") + max_new_tokens (",
                options.max_new_tokens, ") exceeds max_position_embeddings (", model.config().max_position_embeddings, ")");
  CARAVAN_CHECK(!options.stop_ids.empty(), "generate: no stop ids");
  CARAVAN_CHECK(options.top_p > 0 && options.top_p <= 1, "generate: top_p ", options.top_p, " outside (0, 1]");
  CARAVAN_CHECK(options.row_seeds.empty() || options.row_seeds.size() == prompts.size(), "generate: ",
                options.row_seeds.size(), " row seeds for ", prompts.size(), " prompts");
  const auto is_stop = [&](int64_t id) {
    return std::find(options.stop_ids.begin(), options.stop_ids.end(), id) != options.stop_ids.end();
  };

  const at::Device device = model.parameters().front().device();
  auto [tokens, mask] = left_pad(prompts, static_cast<int64_t>(width), options.pad_id);
  tokens = tokens.to(device);
  mask = mask.to(device);
  at::Tensor positions = (mask.to(at::kLong).cumsum(1) - 1).clamp_min(0);
  const int64_t batch = tokens.size(0);
  model::KvCache cache(model.config(), batch, max_len, model.parameters().front().scalar_type(), device);
  std::vector<at::Generator> generators;
  generators.reserve(prompts.size());
  for (size_t b = 0; b < prompts.size(); ++b) {
    const uint64_t seed = options.row_seeds.empty() ? sampling_seed(options.seed, b, 0) : options.row_seeds[b];
    generators.push_back(at::make_generator<at::CPUGeneratorImpl>(seed));
  }

  at::Tensor logits = model.forward(tokens, positions, mask, &cache).select(1, -1);  // [B, V]
  at::Tensor next_position = positions.select(1, -1) + 1;                            // [B]
  at::Tensor finished = at::zeros({batch}, at::kBool);
  for (int64_t step = 0; step < options.max_new_tokens; ++step) {
    at::Tensor next = sample_next(logits, options, generators, finished);
    const at::Tensor logprobs =
        model::token_logprobs(logits.unsqueeze(1), next.to(device).unsqueeze(1), options.temperature).squeeze(1).to(at::kCPU);
    auto next_a = next.accessor<int64_t, 1>();
    auto logprobs_a = logprobs.accessor<float, 1>();
    auto finished_a = finished.accessor<bool, 1>();
    const bool last_step = step + 1 == options.max_new_tokens;
    std::vector<size_t> ended;
    for (int64_t b = 0; b < batch; ++b) {
      if (finished_a[b]) continue;
      out[b].tokens.push_back(static_cast<int32_t>(next_a[b]));
      out[b].logprobs.push_back(logprobs_a[b]);
      out[b].stopped = is_stop(next_a[b]);
      if (out[b].stopped || last_step) {
        finished_a[b] = true;
        ended.push_back(static_cast<size_t>(b));
      }
    }
    if (options.on_step) options.on_step(step, out, ended);
    if (finished.all().item<bool>() || options.stop.stop_requested()) break;
    // Finished rows keep decoding pad tokens that nothing attends to; their outputs are ignored.
    const at::Tensor alive = finished.logical_not().to(device);
    next = at::where(alive, next.to(device), at::full_like(next.to(device), options.pad_id));
    mask = at::cat({mask, alive.unsqueeze(1)}, 1);
    logits = model.forward(next.unsqueeze(1), next_position.unsqueeze(1), mask, &cache).select(1, 0);
    next_position = next_position + 1;
  }
  return out;
}

} // namespace caravan::rollout
