#include "actors/rollout/rollout_worker.h"

#include <chrono>

#include "actors/rollout/generator.h"
#include "core/capnp_lists.h"
#include "core/log.h"

namespace caravan::rollout {

RolloutWorker::RolloutWorker(model::Llama model, model::WeightTransport& transport, const RolloutWorkerOptions& options)
    : model_(std::move(model)), transport_(transport), options_(options) {
  model_->eval();
}

Result<std::unique_ptr<capnp::MallocMessageBuilder>> RolloutWorker::handle(const proto::Envelope::Reader& message) {
  if (message.isRolloutRequest()) return generate(message.getRolloutRequest());
  if (message.isSyncWeights()) return sync(message.getSyncWeights());
  return Status::invalid_argument(str_cat("rollout actor: unexpected message kind ", static_cast<int>(message.which())));
}

Status RolloutWorker::validate(const proto::RolloutRequest::Reader& request) const {
  const auto& config = model_->config();
  if (request.getSamplesPerPrompt() == 0) return Status::invalid_argument("RolloutRequest.samplesPerPrompt: must be >= 1");
  if (request.getMaxNewTokens() == 0) return Status::invalid_argument("RolloutRequest.maxNewTokens: must be >= 1");
  if (!(request.getTopP() > 0 && request.getTopP() <= 1)) {
    return Status::invalid_argument(str_cat("RolloutRequest.topP: must be in (0, 1], got ", request.getTopP()));
  }
  const auto prompts = request.getPrompts();
  for (uint32_t p = 0; p < prompts.size(); ++p) {
    const auto tokens = prompts[p].getTokens();
    if (tokens.size() == 0) return Status::invalid_argument(str_cat("RolloutRequest.prompts[", p, "]: empty"));
    if (tokens.size() + request.getMaxNewTokens() > static_cast<uint64_t>(config.max_position_embeddings)) {
      return Status::invalid_argument(str_cat("RolloutRequest.prompts[", p, "]: ", tokens.size(), " tokens + maxNewTokens ",
                                              request.getMaxNewTokens(), " exceed the context of ",
                                              config.max_position_embeddings));
    }
    for (uint32_t i = 0; i < tokens.size(); ++i) {
      if (tokens[i] < 0 || tokens[i] >= config.vocab_size) {
        return Status::invalid_argument(str_cat("RolloutRequest.prompts[", p, "].tokens[", i, "] = ", tokens[i],
                                                " is outside the vocabulary [0, ", config.vocab_size, ")"));
      }
    }
  }
  return Status();
}

Result<std::unique_ptr<capnp::MallocMessageBuilder>> RolloutWorker::generate(
    const proto::RolloutRequest::Reader& request) {
  CARAVAN_RETURN_IF_ERROR(validate(request));
  const auto started = std::chrono::steady_clock::now();
  const auto prompts = request.getPrompts();
  const uint32_t samples_per_prompt = request.getSamplesPerPrompt();
  // Every prompt repeated samples_per_prompt times, group members adjacent.
  std::vector<std::vector<int32_t>> batch;
  batch.reserve(prompts.size() * samples_per_prompt);
  for (const auto prompt : prompts) {
    const std::vector<int32_t> tokens = core::to_vector(prompt.getTokens());
    for (uint32_t s = 0; s < samples_per_prompt; ++s) batch.push_back(tokens);
  }
  GenerationOptions options;
  options.max_new_tokens = request.getMaxNewTokens();
  options.temperature = request.getTemperature();
  options.top_p = request.getTopP();
  options.seed = request.getSeed();
  options.stop_ids = options_.stop_ids;
  options.pad_id = options_.pad_id;
  const std::vector<GeneratedSequence> generated = rollout::generate(*model_, batch, options);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();

  auto reply = std::make_unique<capnp::MallocMessageBuilder>();
  auto completion = reply->initRoot<proto::Envelope>().initCompletion();
  completion.setRequestId(request.getRequestId());
  completion.setGenerationSeconds(seconds);
  auto samples = completion.initSamples(static_cast<unsigned>(generated.size()));
  for (size_t i = 0; i < generated.size(); ++i) {
    auto sample = samples[static_cast<unsigned>(i)];
    sample.setPromptId(prompts[static_cast<unsigned>(i / samples_per_prompt)].getPromptId());
    sample.setSampleIndex(static_cast<uint32_t>(i % samples_per_prompt));
    sample.setPolicyVersion(policy_version_);
    sample.setFinishReason(generated[i].stopped ? proto::FinishReason::STOP : proto::FinishReason::LENGTH);
    core::copy_into(sample.initTokens(static_cast<unsigned>(generated[i].tokens.size())), generated[i].tokens);
    core::copy_into(sample.initLogprobs(static_cast<unsigned>(generated[i].logprobs.size())), generated[i].logprobs);
  }
  return reply;
}

Result<std::unique_ptr<capnp::MallocMessageBuilder>> RolloutWorker::sync(const proto::SyncWeights::Reader& request) {
  CARAVAN_ASSIGN_OR_RETURN(
      model::WeightSyncStats stats,
      transport_.synchronize(*model_, request.getPolicyVersion(), model::weight_group_from_proto(request.getGroup())));
  policy_version_ = stats.version;
  log::debug("event=weights_received policy_version=", stats.version, " bytes=", stats.bytes, " seconds=", stats.seconds);
  return model::weights_synced_reply(request.getRequestId(), stats);
}

} // namespace caravan::rollout
