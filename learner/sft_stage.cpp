#include "learner/sft_stage.h"

#include "core/log.h"
#include "learner/sft_trainer.h"
#include "learner/stage_loop.h"

namespace caravan::learner {
namespace {

constexpr int64_t kEvaluationBatch = 32;

} // namespace

Status run_sft_stage(const StageOptions& config, const core::RunDirectory& run_dir) {
  CARAVAN_ASSIGN_OR_RETURN(StageStart<TrainingSequence> start,
                           open_stage<TrainingSequence>(config, run_dir, "sft", load_sft_data));
  SftTrainer trainer(start.policy, config.sft, start.spec.tokenizer->pad_id());
  const std::vector<TrainingSequence>& training = start.data.training;
  const std::vector<TrainingSequence>& held_out = start.data.held_out;
  const auto step = [&](const std::vector<size_t>& indices) -> Result<nlohmann::json> {
    std::vector<TrainingSequence> batch;
    for (size_t index : indices) batch.push_back(training[index]);
    CARAVAN_ASSIGN_OR_RETURN(const SftStepStats stats, trainer.step(batch));
    return nlohmann::json{{"loss", stats.loss},
                          {"grad_norm", stats.grad_norm},
                          {"learning_rate", stats.learning_rate},
                          {"tokens", stats.tokens}};
  };
  const auto evaluate = [&](const char* when) -> Result<nlohmann::json> {
    CARAVAN_ASSIGN_OR_RETURN(const SftEvaluation evaluation, trainer.evaluate(held_out, kEvaluationBatch));
    log::result(str_cat("held-out loss ", when, " SFT: ", evaluation.loss, " (", held_out.size(), " conversations, ",
                        evaluation.tokens, " assistant tokens)"));
    return nlohmann::json{{"held_out_loss", evaluation.loss}, {"held_out_tokens", evaluation.tokens}};
  };
  const StageLoopOptions options{.stage = "sft",
                                 .steps = config.sft.steps,
                                 .batch_size = config.sft.batch_size,
                                 .checkpoint_every = config.sft.checkpoint_every,
                                 .seed = config.run.seed,
                                 .training_examples = training.size()};
  return run_stage_loop(options, start.output, start.policy, step, evaluate);
}

} // namespace caravan::learner
