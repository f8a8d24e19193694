#include "actors/controller/controller.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <unordered_set>

#include <nlohmann/json.hpp>

#include "actors/controller/reward_item.h"
#include "core/capnp_lists.h"
#include "core/log.h"
#include "core/reward_record.h"

namespace caravan::controller {
namespace {

using Clock = std::chrono::steady_clock;

// A step gives up drawing distinct training prompts after this many draws per prompt wanted
// (a prompt set with fewer distinct prompts than a step needs would otherwise loop forever).
constexpr size_t kMaxDrawsPerPrompt = 1000;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// Splits [0, count) into at most `parts` contiguous, nearly equal, non-empty ranges.
std::vector<std::pair<size_t, size_t>> split_evenly(size_t count, size_t parts) {
  std::vector<std::pair<size_t, size_t>> ranges;
  parts = std::max<size_t>(1, std::min(parts, count));
  size_t begin = 0;
  for (size_t p = 0; p < parts; ++p) {
    const size_t size = count / parts + (p < count % parts ? 1 : 0);
    if (size > 0) ranges.emplace_back(begin, begin + size);
    begin += size;
  }
  return ranges;
}

std::string percent(double fraction) {
  char text[32];
  std::snprintf(text, sizeof(text), "%.1f%%", 100.0 * fraction);
  return text;
}

// A prompt as the sample files record it: its chat messages, or its raw text.
nlohmann::json prompt_record(const core::TaskPrompt& prompt) {
  if (prompt.messages.empty()) return prompt.text;
  nlohmann::json messages = nlohmann::json::array();
  for (const core::ChatMessage& message : prompt.messages) {
    messages.push_back({{"role", message.role}, {"content", message.content}});
  }
  return messages;
}

uint64_t mix_seed(uint64_t a, uint64_t b) {
  uint64_t x = a ^ (b + 0x9e3779b97f4a7c15ULL + (a << 6) + (a >> 2));
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

}  // namespace

Controller::Controller(const core::RunConfig& config, WorkerPool& pool, const core::RunDirectory& run_dir,
                       core::PromptSource& prompts, const model::Tokenizer& tokenizer)
    : config_(config), pool_(pool), run_dir_(run_dir), prompts_(prompts), tokenizer_(tokenizer) {}

Status Controller::run(std::stop_token stop) {
  Status status = run_phases(stop);
  pool_.shutdown_all(status.ok() ? "run complete" : status.message());
  return status;
}

Status Controller::run_phases(std::stop_token stop) {
  CARAVAN_RETURN_IF_ERROR(pool_.await_hello(stop));
  log::info("event=all_workers_connected workers=", pool_.workers().size());
  CARAVAN_RETURN_IF_ERROR(warm_up(stop));
  CARAVAN_ASSIGN_OR_RETURN(const double sft_accuracy, evaluate("sft", stop));
  for (int64_t step = 1; step <= config_.grpo.steps; ++step) {
    CARAVAN_RETURN_IF_ERROR(rl_step(step, stop));
    const bool periodic = config_.grpo.checkpoint_every > 0 && step % config_.grpo.checkpoint_every == 0;
    if (periodic || step == config_.grpo.steps) CARAVAN_RETURN_IF_ERROR(save_checkpoint(step, stop));
  }
  CARAVAN_ASSIGN_OR_RETURN(const double rl_accuracy, evaluate("rl", stop));
  log::result(str_cat("held-out accuracy ", config_.sft.steps > 0 ? "after SFT" : "before RL", ": ",
                      percent(sft_accuracy)));
  log::result(str_cat("held-out accuracy after RL: ", percent(rl_accuracy)));
  return export_final_model(stop);
}

Status Controller::warm_up(std::stop_token stop) {
  const auto learner = pool_.workers_with_prefix("learner-");
  CARAVAN_CHECK(!learner.empty(), "no learner in the worker pool");
  const auto started = Clock::now();
  log::info("event=sft_start steps=", config_.sft.steps);
  std::vector<Outgoing> requests;
  requests.push_back(pool_.make_request(learner.front()));
  requests.back().envelope().initSftRequest().setSteps(static_cast<uint32_t>(config_.sft.steps));
  CARAVAN_ASSIGN_OR_RETURN(auto replies, pool_.exchange(std::move(requests), stop));
  const auto result = replies.front().envelope().getTrainResult();
  policy_version_ = result.getPolicyVersion();
  log::info("event=sft_done steps=", config_.sft.steps, " loss=", result.getLoss(), " policy_version=", policy_version_,
            " seconds=", seconds_since(started));
  CARAVAN_RETURN_IF_ERROR(run_dir_.append_jsonl(run_dir_.metrics_path(), {{"phase", "sft"},
                                                                          {"steps", config_.sft.steps},
                                                                          {"loss", result.getLoss()},
                                                                          {"policy_version", policy_version_},
                                                                          {"seconds", seconds_since(started)}}));
  return sync_weights(policy_version_, stop);
}

Status Controller::sync_weights(uint64_t version, std::stop_token stop) {
  // The learner and every rollout actor enter the same collective; the learner is the source.
  std::vector<Outgoing> requests;
  for (const auto& worker : pool_.workers()) {
    if (worker.rfind("learner-", 0) != 0 && worker.rfind("rollout-", 0) != 0) continue;
    requests.push_back(pool_.make_request(worker));
    requests.back().envelope().initSyncWeights().setPolicyVersion(version);
  }
  std::vector<std::string> peers;
  for (const auto& request : requests) peers.push_back(request.peer);
  CARAVAN_ASSIGN_OR_RETURN(auto replies, pool_.exchange(std::move(requests), stop));
  for (size_t i = 0; i < replies.size(); ++i) {
    const uint64_t got = replies[i].envelope().getWeightsSynced().getPolicyVersion();
    if (got != version) {
      return Status::internal(str_cat(peers[i], " reports policy version ", got, " after sync of version ", version));
    }
  }
  return Status();
}

Result<std::vector<Controller::ScoredSample>> Controller::generate(const std::vector<core::TaskPrompt>& prompts,
                                                                   uint32_t samples_per_prompt, double temperature,
                                                                   uint64_t seed, std::stop_token stop) {
  const auto actors = pool_.workers_with_prefix("rollout-");
  const auto ranges = split_evenly(prompts.size(), actors.size());
  std::vector<Outgoing> requests;
  for (size_t r = 0; r < ranges.size(); ++r) {
    requests.push_back(pool_.make_request(actors[r]));
    auto request = requests.back().envelope().initRolloutRequest();
    request.setSamplesPerPrompt(samples_per_prompt);
    request.setMaxNewTokens(static_cast<uint32_t>(config_.rollout.max_new_tokens));
    request.setTemperature(static_cast<float>(temperature));
    // Held-out evaluation is greedy; RL rollouts sample with [rollout] top_p.
    request.setTopP(temperature > 0 ? static_cast<float>(config_.rollout.top_p) : 1.0f);
    request.setSeed(mix_seed(seed, r));
    auto request_prompts = request.initPrompts(static_cast<unsigned>(ranges[r].second - ranges[r].first));
    for (size_t i = ranges[r].first; i < ranges[r].second; ++i) {
      auto request_prompt = request_prompts[static_cast<unsigned>(i - ranges[r].first)];
      request_prompt.setPromptId(prompts[i].id);
      core::copy_into(request_prompt.initTokens(static_cast<unsigned>(prompts[i].tokens.size())), prompts[i].tokens);
    }
  }
  CARAVAN_ASSIGN_OR_RETURN(auto replies, pool_.exchange(std::move(requests), stop));
  std::vector<ScoredSample> samples;
  samples.reserve(prompts.size() * samples_per_prompt);
  int64_t tokens_generated = 0;
  double slowest_seconds = 0;
  for (size_t r = 0; r < replies.size(); ++r) {
    const auto completion = replies[r].envelope().getCompletion();
    const size_t expected = (ranges[r].second - ranges[r].first) * samples_per_prompt;
    if (completion.getSamples().size() != expected) {
      return Status::invalid_argument(str_cat(actors[r], ": Completion has ", completion.getSamples().size(),
                                              " samples, expected ", expected));
    }
    slowest_seconds = std::max(slowest_seconds, completion.getGenerationSeconds());
    for (const auto sample : completion.getSamples()) {
      ScoredSample scored;
      scored.prompt_id = sample.getPromptId();
      scored.sample_index = sample.getSampleIndex();
      scored.tokens = core::to_vector(sample.getTokens());
      scored.logprobs = core::to_vector(sample.getLogprobs());
      if (scored.tokens.size() != scored.logprobs.size()) {
        return Status::invalid_argument(str_cat(actors[r], ": sample of prompt ", scored.prompt_id, " has ",
                                                scored.tokens.size(), " tokens but ", scored.logprobs.size(), " logprobs"));
      }
      scored.policy_version = sample.getPolicyVersion();
      scored.stopped = sample.getFinishReason() == proto::FinishReason::STOP;
      CARAVAN_ASSIGN_OR_RETURN(scored.text, model::decode_generated(tokenizer_, scored.tokens));
      tokens_generated += static_cast<int64_t>(scored.tokens.size());
      samples.push_back(std::move(scored));
    }
  }
  // Samples arrive prompt-major in request order; check that the ids line up with the prompts.
  for (size_t i = 0; i < samples.size(); ++i) {
    const auto& prompt = prompts[i / samples_per_prompt];
    if (samples[i].prompt_id != prompt.id) {
      return Status::invalid_argument(str_cat("Completion sample ", i, " carries prompt id ", samples[i].prompt_id,
                                              ", expected ", prompt.id));
    }
  }
  last_generation_tokens_per_s_ = slowest_seconds > 0 ? static_cast<double>(tokens_generated) / slowest_seconds : 0;
  return samples;
}

Status Controller::score(const std::vector<core::TaskPrompt>& prompts, std::vector<ScoredSample>& samples,
                         std::stop_token stop) {
  const auto verifiers = pool_.workers_with_prefix("verifier-");
  const auto ranges = split_evenly(samples.size(), verifiers.size());
  const size_t samples_per_prompt = samples.size() / prompts.size();
  std::vector<Outgoing> requests;
  for (size_t r = 0; r < ranges.size(); ++r) {
    requests.push_back(pool_.make_request(verifiers[r]));
    auto items = requests.back().envelope().initRewardRequest().initItems(
        static_cast<unsigned>(ranges[r].second - ranges[r].first));
    for (size_t i = ranges[r].first; i < ranges[r].second; ++i) {
      fill_reward_item(prompts[i / samples_per_prompt], samples[i].sample_index, samples[i].tokens, samples[i].stopped,
                       samples[i].text, items[static_cast<unsigned>(i - ranges[r].first)]);
    }
  }
  CARAVAN_ASSIGN_OR_RETURN(auto replies, pool_.exchange(std::move(requests), stop));
  for (size_t r = 0; r < replies.size(); ++r) {
    const auto rewards = replies[r].envelope().getRewardResult().getRewards();
    if (rewards.size() != ranges[r].second - ranges[r].first) {
      return Status::invalid_argument(str_cat(verifiers[r], ": RewardResult has ", rewards.size(), " rewards, expected ",
                                              ranges[r].second - ranges[r].first));
    }
    for (size_t i = ranges[r].first; i < ranges[r].second; ++i) {
      const auto reward = rewards[static_cast<unsigned>(i - ranges[r].first)];
      samples[i].reward = reward.getScore();
      samples[i].status = reward.getStatus();
      samples[i].trainable = reward.getTrainable();
      samples[i].reward_record = core::reward_record(reward);
    }
  }
  return Status();
}

Result<std::vector<Controller::ScoredSample>> Controller::generate_and_score(
    const std::vector<core::TaskPrompt>& prompts, uint32_t samples_per_prompt, double temperature,
    uint64_t seed, std::stop_token stop) {
  CARAVAN_ASSIGN_OR_RETURN(std::vector<ScoredSample> samples,
                           generate(prompts, samples_per_prompt, temperature, seed, stop));
  CARAVAN_RETURN_IF_ERROR(score(prompts, samples, stop));
  return samples;
}

Result<double> Controller::evaluate(const std::string& label, std::stop_token stop) {
  const auto started = Clock::now();
  const auto& prompts = prompts_.held_out();
  CARAVAN_ASSIGN_OR_RETURN(std::vector<ScoredSample> samples,
                           generate_and_score(prompts, /*samples_per_prompt=*/1, /*temperature=*/0.0,
                                              config_.run.seed, stop));
  const auto correct = std::count_if(samples.begin(), samples.end(),
                                     [](const ScoredSample& s) { return s.status == proto::RewardStatus::OK; });
  const double accuracy = static_cast<double>(correct) / static_cast<double>(samples.size());
  log::info("event=eval phase=", label, " problems=", samples.size(), " accuracy=", accuracy,
            " policy_version=", policy_version_, " seconds=", seconds_since(started));
  CARAVAN_RETURN_IF_ERROR(write_samples("eval-" + label, 0, prompts, samples));
  CARAVAN_RETURN_IF_ERROR(run_dir_.append_jsonl(run_dir_.metrics_path(), {{"phase", "eval-" + label},
                                                                          {"held_out_accuracy", accuracy},
                                                                          {"problems", samples.size()},
                                                                          {"policy_version", policy_version_}}));
  return accuracy;
}

Status Controller::rl_step(int64_t step, std::stop_token stop) {
  const auto started = Clock::now();
  // Distinct prompts per step, so each GRPO group has its own prompt id.
  std::vector<core::TaskPrompt> prompts;
  std::unordered_set<uint64_t> ids;
  const auto wanted = static_cast<size_t>(config_.grpo.prompts_per_step);
  for (size_t draws = 0; prompts.size() < wanted; ++draws) {
    if (draws == kMaxDrawsPerPrompt * wanted) {
      return Status::failed_precondition(str_cat("the training stream repeats: fewer than [grpo] prompts_per_step = ",
                                                 wanted, " distinct prompts in ", draws, " draws"));
    }
    core::TaskPrompt prompt = prompts_.training_prompt(dataset_cursor_++);
    if (ids.insert(prompt.id).second) prompts.push_back(std::move(prompt));
  }
  const auto group_size = static_cast<uint32_t>(config_.grpo.group_size);
  CARAVAN_ASSIGN_OR_RETURN(std::vector<ScoredSample> samples,
                           generate_and_score(prompts, group_size, config_.rollout.temperature,
                                              mix_seed(config_.run.seed, static_cast<uint64_t>(step)), stop));
  const double generation_tokens_per_s = last_generation_tokens_per_s_;

  const auto learner = pool_.workers_with_prefix("learner-");
  std::vector<Outgoing> requests;
  requests.push_back(pool_.make_request(learner.front()));
  auto batch = requests.back().envelope().initTrainBatch();
  batch.setStep(static_cast<uint64_t>(step));
  auto groups = batch.initGroups(static_cast<unsigned>(prompts.size()));
  for (size_t p = 0; p < prompts.size(); ++p) {
    auto group = groups[static_cast<unsigned>(p)];
    group.setPromptId(prompts[p].id);
    core::copy_into(group.initPromptTokens(static_cast<unsigned>(prompts[p].tokens.size())), prompts[p].tokens);
    auto members = group.initSamples(group_size);
    for (uint32_t s = 0; s < group_size; ++s) {
      const ScoredSample& scored = samples[p * group_size + s];
      auto member = members[s];
      member.setReward(scored.reward);
      member.setNoReward(!scored.trainable);
      member.setPolicyVersion(scored.policy_version);
      core::copy_into(member.initTokens(static_cast<unsigned>(scored.tokens.size())), scored.tokens);
      core::copy_into(member.initLogprobs(static_cast<unsigned>(scored.logprobs.size())), scored.logprobs);
    }
  }
  CARAVAN_ASSIGN_OR_RETURN(auto replies, pool_.exchange(std::move(requests), stop));
  const auto result = replies.front().envelope().getTrainResult();
  policy_version_ = result.getPolicyVersion();
  CARAVAN_RETURN_IF_ERROR(sync_weights(policy_version_, stop));

  double reward_sum = 0;
  int64_t correct = 0;
  int64_t unjudged = 0;
  for (const auto& s : samples) {
    if (!s.trainable) {
      ++unjudged;
      continue;
    }
    reward_sum += s.reward;
    correct += s.status == proto::RewardStatus::OK ? 1 : 0;
  }
  const auto judged_count = static_cast<int64_t>(samples.size()) - unjudged;
  const double reward_mean = judged_count > 0 ? reward_sum / static_cast<double>(judged_count) : 0.0;
  const double accuracy = static_cast<double>(correct) / static_cast<double>(samples.size());
  const double seconds = seconds_since(started);
  char line[256];
  std::snprintf(line, sizeof(line),
                "step=%lld/%lld reward_mean=%.3f accuracy=%.3f unjudged=%lld kl=%.5f loss=%.4f tokens_per_s=%.0f "
                "policy_version=%llu seconds=%.2f",
                static_cast<long long>(step), static_cast<long long>(config_.grpo.steps), reward_mean, accuracy,
                static_cast<long long>(unjudged),
                result.getKlMean(), result.getLoss(), generation_tokens_per_s,
                static_cast<unsigned long long>(policy_version_), seconds);
  log::info(line);
  CARAVAN_RETURN_IF_ERROR(write_samples("train", step, prompts, samples));
  return run_dir_.append_jsonl(run_dir_.metrics_path(), {{"phase", "rl"},
                                                         {"step", step},
                                                         {"reward_mean", reward_mean},
                                                         {"accuracy", accuracy},
                                                         {"unjudged_samples", unjudged},
                                                         {"kl", result.getKlMean()},
                                                         {"loss", result.getLoss()},
                                                         {"clip_fraction", result.getClipFraction()},
                                                         {"grad_norm", result.getGradNorm()},
                                                         {"tokens_per_s", generation_tokens_per_s},
                                                         {"policy_version", policy_version_},
                                                         {"dataset_cursor", dataset_cursor_},
                                                         {"seconds", seconds}});
}

Status Controller::save_checkpoint(int64_t step, std::stop_token stop) {
  const nlohmann::json state = {{"step", step},
                                {"dataset_cursor", dataset_cursor_},
                                {"policy_version", policy_version_},
                                {"seed", config_.run.seed}};
  const auto learner = pool_.workers_with_prefix("learner-");
  std::vector<Outgoing> requests;
  requests.push_back(pool_.make_request(learner.front()));
  auto request = requests.back().envelope().initSaveCheckpoint();
  request.setStep(static_cast<uint64_t>(step));
  (void)state;
  CARAVAN_ASSIGN_OR_RETURN(auto replies, pool_.exchange(std::move(requests), stop));
  log::info("event=checkpoint step=", step, " dir=", replies.front().envelope().getCheckpointSaved().getDirectory().cStr());
  return Status();
}

Status Controller::export_final_model(std::stop_token stop) {
  const auto learner = pool_.workers_with_prefix("learner-");
  std::vector<Outgoing> requests;
  requests.push_back(pool_.make_request(learner.front()));
  requests.back().envelope().initExportModel().setDirectory(kFinalModelDirectory);
  CARAVAN_ASSIGN_OR_RETURN(auto replies, pool_.exchange(std::move(requests), stop));
  const std::string dir = replies.front().envelope().getCheckpointSaved().getDirectory();
  log::info("event=final_model dir=", dir, " policy_version=", policy_version_);
  log::result(str_cat("final model: ", dir));
  return Status();
}

Status Controller::write_samples(const std::string& phase, int64_t step,
                                 const std::vector<core::TaskPrompt>& prompts,
                                 const std::vector<ScoredSample>& samples) const {
  const size_t samples_per_prompt = samples.size() / prompts.size();
  std::vector<nlohmann::json> records;
  records.reserve(samples.size());
  for (size_t i = 0; i < samples.size(); ++i) {
    const auto& s = samples[i];
    const auto& prompt = prompts[i / samples_per_prompt];
    records.push_back({{"step", step},
                       {"prompt_id", s.prompt_id},
                       {"sample_index", s.sample_index},
                       {"source", prompt.source},
                       {"verifier", prompt.verifier},
                       {"prompt", prompt_record(prompt)},
                       {"ground_truth", prompt.ground_truth},
                       {"completion", s.text},
                       {"finish_reason", s.stopped ? "stop" : "length"},
                       {"completion_tokens", completion_token_count(s.tokens, s.stopped)},
                       {"reward", s.reward_record},
                       {"policy_version", s.policy_version}});
  }
  return run_dir_.append_jsonl_records(run_dir_.samples_path(phase), records);
}

} // namespace caravan::controller
