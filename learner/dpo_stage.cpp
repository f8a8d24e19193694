#include "learner/dpo_stage.h"

#include "core/log.h"
#include "learner/dpo_trainer.h"
#include "learner/stage_loop.h"

namespace caravan::learner {
namespace {

constexpr int64_t kEvaluationBatch = 32;

} // namespace

Status run_dpo_stage(const StageOptions& config, const core::RunDirectory& run_dir) {
  CARAVAN_ASSIGN_OR_RETURN(StageStart<PreferencePair> start,
                           open_stage<PreferencePair>(config, run_dir, "dpo", load_preference_data));
  DpoTrainer trainer(start.policy, config.dpo, start.spec.tokenizer->pad_id());
  const std::vector<PreferencePair>& training = start.data.training;
  const std::vector<PreferencePair>& held_out = start.data.held_out;
  const auto step = [&](const std::vector<size_t>& indices) -> Result<nlohmann::json> {
    std::vector<PreferencePair> batch;
    for (size_t index : indices) batch.push_back(training[index]);
    CARAVAN_ASSIGN_OR_RETURN(const DpoStepStats stats, trainer.step(batch));
    const DpoMetrics& m = stats.metrics;
    return nlohmann::json{{"loss", m.loss},
                          {"chosen_reward", m.chosen_reward},
                          {"rejected_reward", m.rejected_reward},
                          {"margin", m.margin},
                          {"accuracy", m.accuracy},
                          {"grad_norm", stats.grad_norm},
                          {"learning_rate", stats.learning_rate},
                          {"tokens", stats.tokens}};
  };
  const auto evaluate = [&](const char* when) -> Result<nlohmann::json> {
    CARAVAN_ASSIGN_OR_RETURN(const DpoMetrics m, trainer.evaluate(held_out, kEvaluationBatch));
    log::result(str_cat("held-out margin ", when, " DPO: ", m.margin, " (preference accuracy ", 100.0 * m.accuracy,
                        "%, loss ", m.loss, ", ", m.pairs, " pairs)"));
    return nlohmann::json{{"held_out_margin", m.margin},
                          {"held_out_accuracy", m.accuracy},
                          {"held_out_loss", m.loss},
                          {"held_out_chosen_reward", m.chosen_reward},
                          {"held_out_rejected_reward", m.rejected_reward},
                          {"held_out_pairs", m.pairs}};
  };
  const StageLoopOptions options{.stage = "dpo",
                                 .steps = config.dpo.steps,
                                 .batch_size = config.dpo.batch_size,
                                 .checkpoint_every = config.dpo.checkpoint_every,
                                 .seed = config.run.seed,
                                 .training_examples = training.size()};
  return run_stage_loop(options, start.output, start.policy, step, evaluate);
}

} // namespace caravan::learner
