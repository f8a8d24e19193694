#include "apps/offline_sampler.h"

#include <algorithm>
#include <chrono>

#include "core/hash.h"
#include "core/log.h"
#include "core/status.h"

namespace caravan::apps {

OfflineSampler::OfflineSampler(model::LlamaImpl& model, OfflineSamplingOptions options)
    : model_(model), options_(std::move(options)) {
  CARAVAN_CHECK(options_.samples_per_prompt >= 1 && options_.batch_size >= 1, "bad OfflineSamplingOptions");
}

std::vector<std::vector<rollout::GeneratedSequence>> OfflineSampler::sample(
    const std::vector<std::vector<int32_t>>& prompts, std::string_view label) {
  const auto started = std::chrono::steady_clock::now();
  const auto n = static_cast<size_t>(options_.samples_per_prompt);
  const size_t prompts_per_batch = std::max<size_t>(1, static_cast<size_t>(options_.batch_size) / n);
  std::vector<std::vector<rollout::GeneratedSequence>> samples(prompts.size());
  int64_t tokens = 0;
  for (size_t first = 0, batch = 0; first < prompts.size(); first += prompts_per_batch, ++batch) {
    const size_t last = std::min(prompts.size(), first + prompts_per_batch);
    std::vector<std::vector<int32_t>> rows;
    rows.reserve((last - first) * n);
    for (size_t p = first; p < last; ++p) rows.insert(rows.end(), n, prompts[p]);
    rollout::GenerationOptions options = options_.generation;
    options.sampling.seed = core::splitmix64(options_.generation.sampling.seed ^ core::splitmix64(batch));
    std::vector<rollout::GeneratedSequence> generated = rollout::generate(model_, rows, options);
    for (size_t row = 0; row < generated.size(); ++row) {
      tokens += static_cast<int64_t>(generated[row].tokens.size());
      samples[first + row / n].push_back(std::move(generated[row]));
    }
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    log::info(label, ": prompts ", last, "/", prompts.size(), " completions ", last * n, " tokens ", tokens,
              " tokens_per_s ", seconds > 0 ? static_cast<double>(tokens) / seconds : 0.0, " seconds ", seconds);
  }
  return samples;
}

} // namespace caravan::apps
