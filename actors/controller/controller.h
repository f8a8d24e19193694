// File: actors/controller/controller.h
// The controller of a synchronous RLVR run. It owns the dataset cursor, the policy version
// and the run directory's metrics and samples, and drives the workers through WorkerPool:
//   1. wait for every worker; 2. SFT warm-up on the learner; 3. broadcast weights;
//   4. greedy held-out evaluation; 5. GRPO steps (generate -> verify -> train -> broadcast),
//   with checkpoints; 6. held-out evaluation again; 7. the final policy exported as a Hugging
//   Face directory, RUN_DIR/final_model; 8. shut the workers down.
// One progress line per step and two result lines ("held-out accuracy after SFT: x%").
//
// The prompts come from a core::PromptSource (the arithmetic task or an RLVR prompt set) with
// their token ids already encoded by the model's prompt encoder; each reward item carries its
// prompt's verifier, ground truth and source. `tokenizer` only decodes completions for the
// verifiers and the sample files.
//
//   Controller controller(config, pool, run_dir, prompts, tokenizer);
//   Status status = controller.run(stop);
#pragma once

#include <cstdint>
#include <stop_token>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "actors/controller/worker_pool.h"
#include "core/run_config.h"
#include "core/run_directory.h"
#include "core/task_prompt.h"
#include "model/tokenizer.h"

namespace caravan::controller {

// Where the run's final policy is exported, relative to the run directory.
inline constexpr const char* kFinalModelDirectory = "final_model";

// Owner thread only. Every reference must outlive the controller.
class Controller {
 public:
  Controller(const core::RunConfig& config, WorkerPool& pool, const core::RunDirectory& run_dir,
             core::PromptSource& prompts, const model::Tokenizer& tokenizer);

  // Runs the whole run and shuts the workers down (also on failure). Errors name the worker
  // or file at fault.
  Status run(std::stop_token stop);

 private:
  // A sample scored by a verifier, as the controller keeps it for training and logging.
  struct ScoredSample {
    uint64_t prompt_id = 0;
    uint32_t sample_index = 0;
    std::vector<int32_t> tokens;
    std::vector<float> logprobs;
    uint64_t policy_version = 0;
    bool stopped = false;
    std::string text;
    float reward = 0;
    proto::RewardStatus status = proto::RewardStatus::ERROR;
    // The verifier's word on whether the learner trains on `reward` (Reward.trainable).
    bool trainable = false;
    // The verifier's reward breakdown as written to the sample files (core/reward_record.h).
    nlohmann::json reward_record;
  };

  Status run_phases(std::stop_token stop);
  Status warm_up(std::stop_token stop);
  Status sync_weights(uint64_t version, std::stop_token stop);
  Result<double> evaluate(const std::string& label, std::stop_token stop);
  Status rl_step(int64_t step, std::stop_token stop);
  Status save_checkpoint(int64_t step, std::stop_token stop);
  Status export_final_model(std::stop_token stop);

  // Generates `samples_per_prompt` completions for each prompt across the rollout actors
  // and scores them across the verifiers.
  Result<std::vector<ScoredSample>> generate_and_score(const std::vector<core::TaskPrompt>& prompts,
                                                       uint32_t samples_per_prompt, double temperature, uint64_t seed,
                                                       std::stop_token stop);
  Result<std::vector<ScoredSample>> generate(const std::vector<core::TaskPrompt>& prompts,
                                             uint32_t samples_per_prompt, double temperature, uint64_t seed,
                                             std::stop_token stop);
  Status score(const std::vector<core::TaskPrompt>& prompts, std::vector<ScoredSample>& samples,
               std::stop_token stop);
  Status write_samples(const std::string& phase, int64_t step, const std::vector<core::TaskPrompt>& prompts,
                       const std::vector<ScoredSample>& samples) const;

  const core::RunConfig& config_;
  WorkerPool& pool_;
  const core::RunDirectory& run_dir_;
  core::PromptSource& prompts_;
  const model::Tokenizer& tokenizer_;
  uint64_t dataset_cursor_ = 0;
  uint64_t policy_version_ = 0;
  double last_generation_tokens_per_s_ = 0;
};

} // namespace caravan::controller
