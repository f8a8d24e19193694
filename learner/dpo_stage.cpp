#include "learner/dpo_stage.h"

#include "core/log.h"
#include "learner/dpo_trainer.h"

namespace caravan::learner {
namespace {

constexpr int64_t kEvaluationBatch = 32;

class DpoStage final : public StageTrainer {
 public:
  DpoStage(const StageOptions& config, const model::ModelSpec& spec, model::Llama policy,
           StageData<PreferencePair> data)
      : trainer_(std::move(policy), config.dpo, spec.tokenizer->pad_id()),
        training_(std::move(data.training)),
        held_out_(std::move(data.held_out)),
        description_{.name = "dpo",
                     .steps = config.dpo.steps,
                     .batch_size = config.dpo.batch_size,
                     .checkpoint_every = config.dpo.checkpoint_every,
                     .training_examples = training_.size(),
                     .settings = {{"learning_rate", config.dpo.learning_rate},
                                  {"warmup_steps", config.dpo.warmup_steps},
                                  {"beta", config.dpo.beta},
                                  {"loss", config.dpo.loss},
                                  {"max_grad_norm", config.dpo.max_grad_norm}},
                     .data_report = std::move(data.report)} {}

  const StageDescription& description() const override { return description_; }

  Result<nlohmann::json> step(const std::vector<size_t>& batch) override {
    CARAVAN_ASSIGN_OR_RETURN(const DpoStepStats stats, trainer_.step(select_examples(training_, batch)));
    const DpoMetrics& m = stats.metrics;
    return nlohmann::json{{"loss", m.loss},
                          {"chosen_reward", m.chosen_reward},
                          {"rejected_reward", m.rejected_reward},
                          {"margin", m.margin},
                          {"accuracy", m.accuracy},
                          {"grad_norm", stats.grad_norm},
                          {"learning_rate", stats.learning_rate},
                          {"tokens", stats.tokens}};
  }

  Result<nlohmann::json> evaluate(const char* when) override {
    CARAVAN_ASSIGN_OR_RETURN(const DpoMetrics m, trainer_.evaluate(held_out_, kEvaluationBatch));
    log::result(str_cat("held-out margin ", when, " DPO: ", m.margin, " (preference accuracy ", 100.0 * m.accuracy,
                        "%, loss ", m.loss, ", ", m.pairs, " pairs)"));
    return nlohmann::json{{"held_out_margin", m.margin},
                          {"held_out_accuracy", m.accuracy},
                          {"held_out_loss", m.loss},
                          {"held_out_chosen_reward", m.chosen_reward},
                          {"held_out_rejected_reward", m.rejected_reward},
                          {"held_out_pairs", m.pairs}};
  }

  torch::optim::Optimizer& optimizer() override { return trainer_.optimizer(); }
  void restore_steps_done(int64_t steps) override { trainer_.restore_steps_done(steps); }

 private:
  DpoTrainer trainer_;
  std::vector<PreferencePair> training_;
  std::vector<PreferencePair> held_out_;
  StageDescription description_;
};

} // namespace

Result<std::unique_ptr<StageTrainer>> open_dpo_stage(const StageOptions& config, const model::ModelSpec& spec,
                                                     model::Llama policy) {
  CARAVAN_ASSIGN_OR_RETURN(StageData<PreferencePair> data,
                           load_preference_data(config.task, *spec.prompts, spec.config));
  return std::unique_ptr<StageTrainer>(std::make_unique<DpoStage>(config, spec, std::move(policy), std::move(data)));
}

} // namespace caravan::learner
