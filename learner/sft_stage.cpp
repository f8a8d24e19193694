#include "learner/sft_stage.h"

#include <ATen/Parallel.h>

#include "core/log.h"
#include "learner/sft_trainer.h"
#include "learner/stage_data.h"
#include "learner/stage_output.h"

namespace caravan::learner {
namespace {

constexpr int64_t kEvaluationBatch = 32;

Status evaluate(SftTrainer& trainer, const std::vector<TrainingSequence>& held_out, int64_t step, const char* when,
                const StageOutput& output) {
  CARAVAN_ASSIGN_OR_RETURN(const SftEvaluation evaluation, trainer.evaluate(held_out, kEvaluationBatch));
  log::result(str_cat("held-out loss ", when, " SFT: ", evaluation.loss, " (", held_out.size(), " conversations, ",
                      evaluation.tokens, " assistant tokens)"));
  return output.record({{"phase", "sft_eval"}, {"step", step}, {"held_out_loss", evaluation.loss},
                        {"held_out_tokens", evaluation.tokens}});
}

} // namespace

Status run_sft_stage(const core::RunConfig& config, const core::RunDirectory& run_dir) {
  at::set_num_threads(static_cast<int>(config.run.threads_per_process));
  CARAVAN_ASSIGN_OR_RETURN(const model::ModelSpec spec, model::open_model(config.model));
  CARAVAN_ASSIGN_OR_RETURN(const StageData<TrainingSequence> data,
                           load_sft_data(config.task, *spec.prompts, spec.config));
  const StageOutput output(run_dir, spec);
  CARAVAN_RETURN_IF_ERROR(output.record(data.report.to_json()));
  data.report.log_summary("sft");

  CARAVAN_ASSIGN_OR_RETURN(model::Llama policy, model::load_model(spec, config.run.seed));
  SftTrainer trainer(policy, config.sft, spec.tokenizer->pad_id());
  CARAVAN_RETURN_IF_ERROR(evaluate(trainer, data.held_out, 0, "before", output));
  const int64_t steps = config.sft.steps;
  for (int64_t step = 1; step <= steps; ++step) {
    std::vector<TrainingSequence> batch;
    for (size_t index : stream_batch(data.training.size(), config.sft.batch_size, step - 1, config.run.seed)) {
      batch.push_back(data.training[index]);
    }
    CARAVAN_ASSIGN_OR_RETURN(const SftStepStats stats, trainer.step(batch));
    CARAVAN_RETURN_IF_ERROR(output.record({{"phase", "sft"}, {"step", step}, {"loss", stats.loss},
                                           {"grad_norm", stats.grad_norm}, {"learning_rate", stats.learning_rate},
                                           {"tokens", stats.tokens}}));
    if (step % 10 == 0 || step == steps) {
      log::info("event=sft_progress step=", step, "/", steps, " loss=", stats.loss, " lr=", stats.learning_rate);
    }
    if (config.sft.checkpoint_every > 0 && step % config.sft.checkpoint_every == 0 && step < steps) {
      CARAVAN_RETURN_IF_ERROR(output.checkpoint(step, "sft", policy));
    }
  }
  CARAVAN_RETURN_IF_ERROR(evaluate(trainer, data.held_out, steps, "after", output));
  CARAVAN_ASSIGN_OR_RETURN(const std::filesystem::path final_dir, output.export_final(policy));
  log::result(str_cat("final model: ", final_dir.string()));
  return Status();
}

} // namespace caravan::learner
