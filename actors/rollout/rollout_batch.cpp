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

bool same_sampling(const proto::RolloutRequest::Reader& a, const proto::RolloutRequest::Reader& b) {
  SamplingParams first = request_sampling(a, {});
  SamplingParams second = request_sampling(b, {});
  first.seed = second.seed = 0;  // each row gets its own seed anyway
  return first == second;
}

RolloutBatch::RolloutBatch(std::vector<AcceptedRequest> requests) : requests_(std::move(requests)) {
  CARAVAN_CHECK(!requests_.empty(), "RolloutBatch: no requests");
  for (size_t r = 0; r < requests_.size(); ++r) {
    const auto request = requests_[r].request();
    CARAVAN_CHECK(same_sampling(request, requests_.front().request()), "RolloutBatch: request ", request.getRequestId(),
                  " samples differently from request ", requests_.front().request().getRequestId());
    const auto prompts = request.getPrompts();
    groups_left_.push_back(prompts.size());
    for (uint32_t p = 0; p < prompts.size(); ++p) {
      const std::vector<int32_t> tokens = core::to_vector(prompts[p].getTokens());
      groups_.push_back({.request = r, .prompt = p, .first_row = rows_.size(), .rows_left = request.getSamplesPerPrompt()});
      for (uint32_t s = 0; s < request.getSamplesPerPrompt(); ++s) {
        row_info_.push_back({.group = groups_.size() - 1, .sample = s});
        rows_.push_back(tokens);
        row_seeds_.push_back(sampling_seed(request.getSeed(), p, s));
      }
    }
  }
}

GenerationOptions RolloutBatch::generation_options(const std::vector<int32_t>& stop_ids, int32_t pad_id,
                                                   const TokenText* token_text) const {
  GenerationOptions options;
  options.sampling = request_sampling(requests_.front().request(), stop_ids);
  options.row_seeds = row_seeds_;
  options.token_text = token_text;
  options.pad_id = pad_id;
  return options;
}

RolloutBatch::Ended RolloutBatch::end_rows(const std::vector<GeneratedSequence>& sequences,
                                           const std::vector<size_t>& ended) {
  Ended out;
  for (const size_t row : ended) {
    Group& group = groups_[row_info_[row].group];
    CARAVAN_CHECK(group.rows_left > 0, "RolloutBatch: row ", row, " ended twice");
    if (--group.rows_left > 0) continue;
    out.completions.push_back(completion(group, sequences));
    if (--groups_left_[group.request] == 0) out.finished_requests.push_back(requests_[group.request].request().getRequestId());
  }
  return out;
}

std::vector<uint64_t> RolloutBatch::unfinished_requests() const {
  std::vector<uint64_t> ids;
  for (size_t r = 0; r < requests_.size(); ++r) {
    if (groups_left_[r] > 0) ids.push_back(requests_[r].request().getRequestId());
  }
  return ids;
}

std::unique_ptr<capnp::MallocMessageBuilder> RolloutBatch::completion(
    const Group& group, const std::vector<GeneratedSequence>& sequences) const {
  const auto request = requests_[group.request].request();
  const uint32_t samples_per_prompt = request.getSamplesPerPrompt();
  auto reply = std::make_unique<capnp::MallocMessageBuilder>();
  auto completion = reply->initRoot<proto::Envelope>().initCompletion();
  completion.setRequestId(request.getRequestId());
  completion.setGenerationSeconds(
      std::chrono::duration<double>(std::chrono::steady_clock::now() - requests_[group.request].arrived).count());
  auto samples = completion.initSamples(samples_per_prompt);
  for (uint32_t s = 0; s < samples_per_prompt; ++s) {
    const GeneratedSequence& generated = sequences[group.first_row + s];
    // Every row produces one token per decode step from step 0, so token i came from step i.
    CARAVAN_CHECK(!generated.tokens.empty() && generated.tokens.size() <= step_versions_.size(),
                  "RolloutBatch: row of ", generated.tokens.size(), " tokens after ", step_versions_.size(), " steps");
    const std::vector<uint64_t> versions(step_versions_.begin(),
                                         step_versions_.begin() + static_cast<std::ptrdiff_t>(generated.tokens.size()));
    auto sample = samples[s];
    sample.setPromptId(request.getPrompts()[group.prompt].getPromptId());
    sample.setSampleIndex(s);
    sample.setPolicyVersion(versions.front());
    CARAVAN_CHECK(generated.finish_reason.has_value(), "RolloutBatch: row ", group.first_row + s, " ended without a reason");
    sample.setFinishReason(finish_reason_to_proto(*generated.finish_reason));
    core::copy_into(sample.initTokens(static_cast<unsigned>(generated.tokens.size())), generated.tokens);
    core::copy_into(sample.initLogprobs(static_cast<unsigned>(generated.logprobs.size())), generated.logprobs);
    core::copy_into(sample.initTokenPolicyVersions(static_cast<unsigned>(versions.size())), versions);
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
