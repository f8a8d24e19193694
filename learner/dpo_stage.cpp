#include "learner/dpo_stage.h"

#include <ATen/Parallel.h>

#include "core/log.h"
#include "learner/dpo_trainer.h"
#include "learner/stage_data.h"
#include "learner/stage_output.h"

namespace caravan::learner {
namespace {

constexpr int64_t kEvaluationBatch = 32;

Status evaluate(DpoTrainer& trainer, const std::vector<PreferencePair>& held_out, int64_t step, const char* when,
                const StageOutput& output) {
  CARAVAN_ASSIGN_OR_RETURN(const DpoMetrics metrics, trainer.evaluate(held_out, kEvaluationBatch));
  log::result(str_cat("held-out margin ", when, " DPO: ", metrics.margin, " (preference accuracy ",
                      100.0 * metrics.accuracy, "%, loss ", metrics.loss, ", ", metrics.pairs, " pairs)"));
  return output.record({{"phase", "dpo_eval"},
                        {"step", step},
                        {"held_out_margin", metrics.margin},
                        {"held_out_accuracy", metrics.accuracy},
                        {"held_out_loss", metrics.loss},
                        {"held_out_chosen_reward", metrics.chosen_reward},
                        {"held_out_rejected_reward", metrics.rejected_reward},
                        {"held_out_pairs", metrics.pairs}});
}

} // namespace

Status run_dpo_stage(const core::RunConfig& config, const core::RunDirectory& run_dir) {
  at::set_num_threads(static_cast<int>(config.run.threads_per_process));
  CARAVAN_ASSIGN_OR_RETURN(const model::ModelSpec spec, model::open_model(config.model));
  CARAVAN_ASSIGN_OR_RETURN(const StageData<PreferencePair> data,
                           load_preference_data(config.task, *spec.prompts, spec.config));
  const StageOutput output(run_dir, spec);
  CARAVAN_RETURN_IF_ERROR(output.record(data.report.to_json()));
  data.report.log_summary("dpo");

  CARAVAN_ASSIGN_OR_RETURN(model::Llama policy, model::load_model(spec, config.run.seed));
  DpoTrainer trainer(policy, config.dpo, spec.tokenizer->pad_id());
  CARAVAN_RETURN_IF_ERROR(evaluate(trainer, data.held_out, 0, "before", output));
  const int64_t steps = config.dpo.steps;
  for (int64_t step = 1; step <= steps; ++step) {
    std::vector<PreferencePair> batch;
    for (size_t index : stream_batch(data.training.size(), config.dpo.batch_size, step - 1, config.run.seed)) {
      batch.push_back(data.training[index]);
    }
    CARAVAN_ASSIGN_OR_RETURN(const DpoStepStats stats, trainer.step(batch));
    const DpoMetrics& m = stats.metrics;
    CARAVAN_RETURN_IF_ERROR(output.record({{"phase", "dpo"},
                                           {"step", step},
                                           {"loss", m.loss},
                                           {"chosen_reward", m.chosen_reward},
                                           {"rejected_reward", m.rejected_reward},
                                           {"margin", m.margin},
                                           {"accuracy", m.accuracy},
                                           {"grad_norm", stats.grad_norm},
                                           {"learning_rate", stats.learning_rate},
                                           {"tokens", stats.tokens}}));
    if (step % 10 == 0 || step == steps) {
      log::info("event=dpo_progress step=", step, "/", steps, " loss=", m.loss, " margin=", m.margin,
                " accuracy=", m.accuracy, " lr=", stats.learning_rate);
    }
    if (config.dpo.checkpoint_every > 0 && step % config.dpo.checkpoint_every == 0 && step < steps) {
      CARAVAN_RETURN_IF_ERROR(output.checkpoint(step, "dpo", policy));
    }
  }
  CARAVAN_RETURN_IF_ERROR(evaluate(trainer, data.held_out, steps, "after", output));
  CARAVAN_ASSIGN_OR_RETURN(const std::filesystem::path final_dir, output.export_final(policy));
  log::result(str_cat("final model: ", final_dir.string()));
  return Status();
}

} // namespace caravan::learner
