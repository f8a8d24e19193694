#include "apps/offline_sampler.h"

#include <chrono>

#include "core/log.h"
#include "core/status.h"

namespace caravan::apps {

OfflineSampler::OfflineSampler(model::LlamaImpl& model, OfflineSamplingOptions options)
    : model_(model), options_(std::move(options)) {
  CARAVAN_CHECK(options_.samples_per_prompt >= 1, "bad OfflineSamplingOptions");
}

Result<std::vector<std::vector<rollout::SequenceOutput>>> OfflineSampler::sample(
    const std::vector<std::vector<int32_t>>& prompts, std::string_view label) {
  const auto started = std::chrono::steady_clock::now();
  CARAVAN_ASSIGN_OR_RETURN(std::unique_ptr<rollout::Engine> engine,
                           rollout::Engine::create(model_, options_.engine, options_.token_text));
  const auto n = static_cast<size_t>(options_.samples_per_prompt);
  for (size_t p = 0; p < prompts.size(); ++p) {
    rollout::EngineRequest request{.id = p, .prompt = prompts[p]};
    for (size_t s = 0; s < n; ++s) {
      request.samples.push_back(options_.sampling);
      request.samples.back().seed = rollout::sampling_seed(options_.sampling.seed, p, s);
    }
    if (Status added = engine->add(std::move(request)); !added.ok()) {
      return Status(added.code(), str_cat("prompt ", p, ": ", added.message()));
    }
  }
  std::vector<std::vector<rollout::SequenceOutput>> samples(prompts.size(), std::vector<rollout::SequenceOutput>(n));
  std::vector<size_t> samples_left(prompts.size(), n);
  size_t prompts_done = 0;
  size_t completions = 0;
  int64_t tokens = 0;
  auto last_log = started;
  while (!engine->idle()) {
    for (rollout::SequenceOutput& done : engine->step()) {
      ++completions;
      if (--samples_left[done.request_id] == 0) ++prompts_done;
      tokens += static_cast<int64_t>(done.tokens.size());
      samples[done.request_id][done.sample] = std::move(done);
    }
    const auto now = std::chrono::steady_clock::now();
    if (now - last_log >= std::chrono::seconds(10) || engine->idle()) {
      last_log = now;
      const double seconds = std::chrono::duration<double>(now - started).count();
      const rollout::EngineStats stats = engine->stats();
      log::info(label, ": prompts ", prompts_done, "/", prompts.size(), " completions ", completions, "/",
                prompts.size() * n, " tokens ", tokens, " tokens_per_s ",
                seconds > 0 ? static_cast<double>(tokens) / seconds : 0.0, " running ", stats.running, " waiting ",
                stats.waiting, " kv_blocks_used ", stats.kv_blocks_used, " seconds ", seconds);
    }
  }
  return samples;
}

} // namespace caravan::apps
