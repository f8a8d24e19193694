#include "learner/sft_stage.h"

#include "core/log.h"
#include "learner/sft_trainer.h"

namespace caravan::learner {
namespace {

constexpr int64_t kEvaluationBatch = 32;

class SftStage final : public StageTrainer {
 public:
  SftStage(const StageOptions& config, const model::ModelSpec& spec, model::Llama policy,
           StageData<TrainingSequence> data)
      : trainer_(std::move(policy), config.sft, spec.tokenizer->pad_id()),
        training_(std::move(data.training)),
        held_out_(std::move(data.held_out)),
        description_{.name = "sft",
                     .steps = config.sft.steps,
                     .batch_size = config.sft.batch_size,
                     .checkpoint_every = config.sft.checkpoint_every,
                     .training_examples = training_.size(),
                     .settings = {{"learning_rate", config.sft.learning_rate},
                                  {"warmup_steps", config.sft.warmup_steps}},
                     .data_report = std::move(data.report)} {}

  const StageDescription& description() const override { return description_; }

  Result<nlohmann::json> step(const std::vector<size_t>& batch) override {
    CARAVAN_ASSIGN_OR_RETURN(const SftStepStats stats, trainer_.step(select_examples(training_, batch)));
    return nlohmann::json{{"loss", stats.loss},
                          {"grad_norm", stats.grad_norm},
                          {"learning_rate", stats.learning_rate},
                          {"tokens", stats.tokens}};
  }

  Result<nlohmann::json> evaluate(const char* when) override {
    CARAVAN_ASSIGN_OR_RETURN(const SftEvaluation evaluation, trainer_.evaluate(held_out_, kEvaluationBatch));
    log::result(str_cat("held-out loss ", when, " SFT: ", evaluation.loss, " (", held_out_.size(), " conversations, ",
                        evaluation.tokens, " assistant tokens)"));
    return nlohmann::json{{"held_out_loss", evaluation.loss}, {"held_out_tokens", evaluation.tokens}};
  }

  torch::optim::Optimizer& optimizer() override { return trainer_.optimizer(); }
  void restore_steps_done(int64_t steps) override { trainer_.restore_steps_done(steps); }

 private:
  SftTrainer trainer_;
  std::vector<TrainingSequence> training_;
  std::vector<TrainingSequence> held_out_;
  StageDescription description_;
};

} // namespace

Result<std::unique_ptr<StageTrainer>> open_sft_stage(const StageOptions& config, const model::ModelSpec& spec,
                                                     model::Llama policy) {
  CARAVAN_ASSIGN_OR_RETURN(StageData<TrainingSequence> data, load_sft_data(config.task, *spec.prompts, spec.config));
  return std::unique_ptr<StageTrainer>(std::make_unique<SftStage>(config, spec, std::move(policy), std::move(data)));
}

} // namespace caravan::learner
