#include "learner/stage_loop.h"

#include "core/log.h"

namespace caravan::learner {
namespace {

// `metrics` with "phase" and "step" first.
nlohmann::json stage_record(const std::string& phase, int64_t step, const nlohmann::json& metrics) {
  nlohmann::json record = {{"phase", phase}, {"step", step}};
  record.update(metrics);
  return record;
}

// "key=value" for each of `metrics`, space-separated.
std::string key_values(const nlohmann::json& metrics) {
  std::string text;
  for (const auto& [key, value] : metrics.items()) text += str_cat(" ", key, "=", value.dump());
  return text;
}

} // namespace

Status run_stage_loop(const StageLoopOptions& options, const StageOutput& output, model::Llama& policy,
                      const StageStepFn& step, const StageEvaluateFn& evaluate) {
  CARAVAN_CHECK(options.training_examples >= 1, "stage ", options.stage, " without training examples");
  const std::string evaluation_phase = options.stage + "_eval";
  CARAVAN_ASSIGN_OR_RETURN(const nlohmann::json before, evaluate("before"));
  CARAVAN_RETURN_IF_ERROR(output.record(stage_record(evaluation_phase, 0, before)));
  for (int64_t index = 1; index <= options.steps; ++index) {
    const std::vector<size_t> batch =
        stream_batch(options.training_examples, options.batch_size, index - 1, options.seed);
    CARAVAN_ASSIGN_OR_RETURN(const nlohmann::json metrics, step(batch));
    CARAVAN_RETURN_IF_ERROR(output.record(stage_record(options.stage, index, metrics)));
    if (index % kProgressEvery == 0 || index == options.steps) {
      log::info("event=", options.stage, "_progress step=", index, "/", options.steps, key_values(metrics));
    }
    if (options.checkpoint_every > 0 && index % options.checkpoint_every == 0 && index < options.steps) {
      CARAVAN_RETURN_IF_ERROR(output.checkpoint(index, options.stage, policy));
    }
  }
  CARAVAN_ASSIGN_OR_RETURN(const nlohmann::json after, evaluate("after"));
  CARAVAN_RETURN_IF_ERROR(output.record(stage_record(evaluation_phase, options.steps, after)));
  CARAVAN_ASSIGN_OR_RETURN(const std::filesystem::path final_dir, output.export_final(policy));
  log::result(str_cat("final model: ", final_dir.string()));
  return Status();
}

} // namespace caravan::learner
