#include "actors/rollout/rollout_batch.h"

#include <cmath>

#include "core/capnp_lists.h"

namespace caravan::rollout {
namespace {

proto::FinishReason finish_reason_to_proto(FinishReason reason) {
  switch (reason) {
    case FinishReason::kStopToken:
      return proto::FinishReason::STOP;
    case FinishReason::kStopString:
      return proto::FinishReason::STOP_STRING;
    case FinishReason::kLength:
      return proto::FinishReason::LENGTH;
  }
  CARAVAN_CHECK(false, "finish_reason_to_proto: unknown reason ", static_cast<int>(reason));
  return proto::FinishReason::LENGTH;
}

// The sampling controls of `request` (SamplingParams::validate's ranges, named as the request
// spells them).
Status validate_sampling_fields(const proto::RolloutRequest::Reader& request) {
  const auto invalid = [](std::string_view field, auto&&... what) {
    return Status::invalid_argument(str_cat("RolloutRequest.", field, ": ", what...));
  };
  if (!(request.getTemperature() >= 0 && std::isfinite(request.getTemperature()))) {
    return invalid("temperature", "must be >= 0 (0 = greedy), got ", request.getTemperature());
  }
  if (!(request.getTopP() > 0 && request.getTopP() <= 1)) return invalid("topP", "must be in (0, 1], got ", request.getTopP());
  if (!(request.getMinP() >= 0 && request.getMinP() < 1)) return invalid("minP", "must be in [0, 1), got ", request.getMinP());
  if (!(request.getRepetitionPenalty() > 0 && std::isfinite(request.getRepetitionPenalty()))) {
    return invalid("repetitionPenalty", "must be > 0 (1 = off), got ", request.getRepetitionPenalty());
  }
  if (!(std::abs(request.getPresencePenalty()) <= kMaxAbsPenalty)) {
    return invalid("presencePenalty", "must be in [-", kMaxAbsPenalty, ", ", kMaxAbsPenalty, "], got ",
                   request.getPresencePenalty());
  }
  if (!(std::abs(request.getFrequencyPenalty()) <= kMaxAbsPenalty)) {
    return invalid("frequencyPenalty", "must be in [-", kMaxAbsPenalty, ", ", kMaxAbsPenalty, "], got ",
                   request.getFrequencyPenalty());
  }
  const auto stop_strings = request.getStopStrings();
  for (uint32_t i = 0; i < stop_strings.size(); ++i) {
    if (stop_strings[i].size() == 0) return invalid(str_cat("stopStrings[", i, "]"), "empty");
  }
  if (request.getTopLogprobs() > kMaxTopLogprobs) {
    return invalid("topLogprobs", "must be at most ", kMaxTopLogprobs, ", got ", request.getTopLogprobs());
  }
  return Status();
}

}  // namespace

Status validate_rollout_request(const proto::RolloutRequest::Reader& request, const core::TransformerConfig& config) {
  if (request.getSamplesPerPrompt() == 0) return Status::invalid_argument("RolloutRequest.samplesPerPrompt: must be >= 1");
  if (request.getMaxNewTokens() == 0) return Status::invalid_argument("RolloutRequest.maxNewTokens: must be >= 1");
  CARAVAN_RETURN_IF_ERROR(validate_sampling_fields(request));
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

SamplingParams request_sampling(const proto::RolloutRequest::Reader& request, std::vector<int32_t> stop_ids) {
  SamplingParams params;
  params.temperature = request.getTemperature();
  params.top_p = request.getTopP();
  params.top_k = request.getTopK();
  params.min_p = request.getMinP();
  params.repetition_penalty = request.getRepetitionPenalty();
  params.presence_penalty = request.getPresencePenalty();
  params.frequency_penalty = request.getFrequencyPenalty();
  params.max_new_tokens = request.getMaxNewTokens();
  params.stop_ids = std::move(stop_ids);
  for (const auto stop : request.getStopStrings()) params.stop_strings.emplace_back(stop.cStr(), stop.size());
  params.top_logprobs = request.getTopLogprobs();
  params.seed = request.getSeed();
  return params;
}

SamplingParams sampling_params(const proto::RolloutRequest::Reader& request, uint32_t prompt, uint32_t sample,
                               const std::vector<int32_t>& stop_ids) {
  SamplingParams params = request_sampling(request, stop_ids);
  params.seed = sampling_seed(request.getSeed(), prompt, sample);
  return params;
}

RolloutBatch::Added RolloutBatch::add(AcceptedRequest accepted, const std::vector<int32_t>& stop_ids) {
  const auto request = accepted.request();
  Added added{.key = next_key_++};
  const auto prompts = request.getPrompts();
  for (uint32_t p = 0; p < prompts.size(); ++p) {
    const uint64_t key = next_key_++;
    EngineRequest engine_request{.id = key, .prompt = core::to_vector(prompts[p].getTokens())};
    for (uint32_t s = 0; s < request.getSamplesPerPrompt(); ++s) {
      engine_request.samples.push_back(sampling_params(request, p, s, stop_ids));
    }
    groups_[key] = Group{.request_key = added.key,
                         .prompt = p,
                         .samples = std::vector<std::optional<SequenceOutput>>(request.getSamplesPerPrompt()),
                         .samples_left = request.getSamplesPerPrompt()};
    added.prompts.push_back(std::move(engine_request));
  }
  requests_[added.key] = Request{.accepted = std::move(accepted), .groups_left = prompts.size()};
  return added;
}

RolloutBatch::Ended RolloutBatch::record(SequenceOutput output) {
  Ended out;
  const auto found = groups_.find(output.request_id);
  CARAVAN_CHECK(found != groups_.end(), "RolloutBatch: output of unknown group ", output.request_id);
  Group& group = found->second;
  const uint32_t sample = output.sample;
  CARAVAN_CHECK(sample < group.samples.size() && !group.samples[sample], "RolloutBatch: sample ", sample, " of group ",
                output.request_id, " ended twice");
  group.samples[sample] = std::move(output);
  if (--group.samples_left > 0) return out;
  const uint64_t request_key = group.request_key;
  Request& request = requests_.at(request_key);
  out.completions.push_back(completion(request, group));
  groups_.erase(found);
  if (--request.groups_left == 0) {
    out.finished_requests.push_back(request.accepted.request().getRequestId());
    requests_.erase(request_key);
  }
  return out;
}

void RolloutBatch::remove(uint64_t key) {
  std::erase_if(groups_, [&](const auto& entry) { return entry.second.request_key == key; });
  requests_.erase(key);
}

void RolloutBatch::clear() {
  groups_.clear();
  requests_.clear();
}

std::vector<uint64_t> RolloutBatch::unfinished_requests() const {
  std::vector<uint64_t> ids;
  for (const auto& [key, request] : requests_) ids.push_back(request.accepted.request().getRequestId());
  return ids;
}

std::unique_ptr<capnp::MallocMessageBuilder> RolloutBatch::completion(const Request& request, const Group& group) const {
  const auto rollout_request = request.accepted.request();
  auto reply = std::make_unique<capnp::MallocMessageBuilder>();
  auto completion = reply->initRoot<proto::Envelope>().initCompletion();
  completion.setRequestId(rollout_request.getRequestId());
  completion.setGenerationSeconds(
      std::chrono::duration<double>(std::chrono::steady_clock::now() - request.accepted.arrived).count());
  auto samples = completion.initSamples(static_cast<unsigned>(group.samples.size()));
  for (uint32_t s = 0; s < group.samples.size(); ++s) {
    const SequenceOutput& generated = *group.samples[s];
    CARAVAN_CHECK(!generated.tokens.empty() && generated.policy_versions.size() == generated.tokens.size(),
                  "RolloutBatch: sample of ", generated.tokens.size(), " tokens and ", generated.policy_versions.size(),
                  " versions");
    auto sample = samples[s];
    sample.setPromptId(rollout_request.getPrompts()[group.prompt].getPromptId());
    sample.setSampleIndex(s);
    sample.setPolicyVersion(generated.policy_versions.front());
    sample.setFinishReason(finish_reason_to_proto(generated.finish_reason));
    core::copy_into(sample.initTokens(static_cast<unsigned>(generated.tokens.size())), generated.tokens);
    core::copy_into(sample.initLogprobs(static_cast<unsigned>(generated.logprobs.size())), generated.logprobs);
    core::copy_into(sample.initTokenPolicyVersions(static_cast<unsigned>(generated.policy_versions.size())),
                    generated.policy_versions);
    CARAVAN_CHECK(generated.top_logprobs.empty() || generated.top_logprobs.size() == generated.tokens.size(),
                  "RolloutBatch: ", generated.top_logprobs.size(), " top-logprob positions for ", generated.tokens.size(),
                  " tokens");
    if (!generated.top_logprobs.empty()) {
      auto top = sample.initTopLogprobs(static_cast<unsigned>(generated.top_logprobs.size()));
      for (unsigned i = 0; i < top.size(); ++i) {
        const std::vector<TokenLogprob>& position = generated.top_logprobs[i];
        auto tokens = top[i].initTokens(static_cast<unsigned>(position.size()));
        auto logprobs = top[i].initLogprobs(static_cast<unsigned>(position.size()));
        for (unsigned j = 0; j < position.size(); ++j) {
          tokens.set(j, position[j].token);
          logprobs.set(j, position[j].logprob);
        }
      }
    }
  }
  return reply;
}

} // namespace caravan::rollout
