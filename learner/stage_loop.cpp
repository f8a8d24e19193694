#include "learner/stage_loop.h"

#include <ATen/Parallel.h>

#include <filesystem>
#include <optional>
#include <string>
#include <utility>

#include "core/append_only_file.h"
#include "core/checkpoints.h"
#include "core/log.h"
#include "learner/checkpoint.h"
#include "learner/stage_output.h"

namespace caravan::learner {
namespace {

using Json = nlohmann::json;

// Steps between progress log lines.
constexpr int64_t kProgressEvery = 10;

// `metrics` with "phase" and "step" first.
Json stage_record(const std::string& phase, int64_t step, const Json& metrics) {
  Json record = {{"phase", phase}, {"step", step}};
  record.update(metrics);
  return record;
}

// "key=value" for each of `metrics`, space-separated.
std::string key_values(const Json& metrics) {
  std::string text;
  for (const auto& [key, value] : metrics.items()) text += str_cat(" ", key, "=", value.dump());
  return text;
}

// What a checkpoint records and resume compares: the stage's own settings, the batch stream's
// parameters and the model's identity.
Json run_settings(const StageDescription& stage, const StageOptions& config, const model::ModelSpec& spec) {
  Json settings = stage.settings;
  settings["seed"] = config.run.seed;
  settings["batch_size"] = stage.batch_size;
  settings["training_examples"] = stage.training_examples;
  settings["model"] = spec.pretrained() ? spec.directory.string() : std::string("inline");
  settings["hidden_size"] = spec.config.hidden_size;
  settings["num_layers"] = spec.config.num_layers;
  settings["vocab_size"] = spec.config.vocab_size;
  return settings;
}

// Where the batch stream (stream_batch) stands after `steps` steps: the epoch and the position
// in its shuffle (seeded by the settings' seed and the epoch).
Json data_position(const StageDescription& stage, int64_t steps) {
  const auto drawn = static_cast<uint64_t>(steps * stage.batch_size);
  return {{"epoch", drawn / stage.training_examples}, {"cursor", drawn % stage.training_examples}};
}

// The committed stage state a resume continues from.
struct ResumePoint {
  int64_t step = 0;
  // metrics.jsonl's size when the checkpoint was taken.
  uint64_t metrics_bytes = 0;
};

// Checks a checkpoint's stage_state.json against this run: the stage, every setting, a step the
// run has, and a data position that agrees with it. kInvalidArgument naming `file` and the key.
Result<ResumePoint> check_stage_state(const Json& state, const StageDescription& stage, const Json& settings,
                                      const std::filesystem::path& file) {
  const auto name = state.find("stage");
  if (name == state.end() || *name != stage.name) {
    return Status::invalid_argument(str_cat(file.string(), ": key 'stage': ",
                                            name == state.end() ? std::string("missing") : name->dump(),
                                            ", but this run is a \"", stage.name, "\" stage"));
  }
  const auto recorded = state.find("settings");
  if (recorded == state.end() || !recorded->is_object()) {
    return Status::invalid_argument(str_cat(file.string(), ": key 'settings': expected an object"));
  }
  // null where absent.
  const auto entry = [](const Json& object, const std::string& key) {
    const auto found = object.find(key);
    return found == object.end() ? Json() : *found;
  };
  Json keys = settings;
  keys.update(*recorded);
  for (const auto& [key, ignored] : keys.items()) {
    const Json was = entry(*recorded, key);
    const Json now = entry(settings, key);
    if (was != now) {
      return Status::invalid_argument(str_cat(file.string(), ": key 'settings.", key, "': the checkpoint has ",
                                              was.dump(), " but the run's config and data give ", now.dump(),
                                              ": the checkpoint belongs to another config or model"));
    }
  }
  ResumePoint point;
  CARAVAN_ASSIGN_OR_RETURN(const uint64_t step, json_counter(state, "step", file));
  if (step > static_cast<uint64_t>(stage.steps)) {
    return Status::invalid_argument(str_cat(file.string(), ": key 'step': ", step, " is beyond the stage's ",
                                            stage.steps, " steps ([", stage.name, "] steps)"));
  }
  point.step = static_cast<int64_t>(step);
  const auto data = state.find("data");
  if (data == state.end() || *data != data_position(stage, point.step)) {
    return Status::invalid_argument(str_cat(file.string(), ": key 'data': ",
                                            data == state.end() ? std::string("missing") : data->dump(),
                                            " does not agree with step ", step, " (expected ",
                                            data_position(stage, point.step).dump(), ")"));
  }
  const auto files = state.find("files");
  if (files == state.end() || !files->is_object()) {
    return Status::invalid_argument(str_cat(file.string(), ": key 'files': expected an object"));
  }
  CARAVAN_ASSIGN_OR_RETURN(point.metrics_bytes, json_counter(*files, "metrics", file, "files.metrics"));
  return point;
}

// One stage's run in its run directory. Not thread-safe; one owner.
class StageLoop {
 public:
  StageLoop(const StageOptions& config, const core::RunDirectory& run_dir, StageOutput output, model::Llama policy,
            std::unique_ptr<StageTrainer> trainer, Json settings)
      : config_(config),
        run_dir_(run_dir),
        output_(std::move(output)),
        policy_(std::move(policy)),
        trainer_(std::move(trainer)),
        stage_(trainer_->description()),
        settings_(std::move(settings)) {}

  Status run(const StageControl& control) {
    CARAVAN_CHECK(stage_.training_examples >= 1, "stage ", stage_.name, " without training examples");
    stage_.data_report.log_summary(stage_.name);
    std::optional<int64_t> resumed;
    if (control.resume) {
      CARAVAN_ASSIGN_OR_RETURN(resumed, resume());
    }
    if (!resumed) CARAVAN_RETURN_IF_ERROR(start());
    int64_t done = resumed.value_or(0);
    std::optional<int64_t> checkpointed = resumed;
    while (done < stage_.steps && !control.stop.stop_requested()) {
      CARAVAN_RETURN_IF_ERROR(train_step(done + 1));
      ++done;
      if (stage_.checkpoint_every > 0 && done % stage_.checkpoint_every == 0 && done < stage_.steps) {
        CARAVAN_RETURN_IF_ERROR(checkpoint(done));
        checkpointed = done;
      }
    }
    if (done < stage_.steps) {
      // Stopped: keep what was trained.
      if (checkpointed != done) CARAVAN_RETURN_IF_ERROR(checkpoint(done));
      return Status::cancelled(str_cat("stopped after step ", done, " with checkpoint ",
                                       run_dir_.checkpoint_dir(done).string(),
                                       "; resume with: caravan run --resume ", run_dir_.root().string()));
    }
    CARAVAN_ASSIGN_OR_RETURN(const Json after, trainer_->evaluate("after"));
    CARAVAN_RETURN_IF_ERROR(output_.record(stage_record(evaluation_phase(), stage_.steps, after)));
    CARAVAN_ASSIGN_OR_RETURN(const std::filesystem::path final_dir, output_.export_final(policy_));
    log::result(str_cat("final model: ", final_dir.string()));
    return Status();
  }

 private:
  std::string evaluation_phase() const { return stage_.name + "_eval"; }

  // A new stage: the data report and the held-out evaluation of the starting weights.
  Status start() {
    CARAVAN_RETURN_IF_ERROR(output_.record(stage_.data_report.to_json()));
    CARAVAN_ASSIGN_OR_RETURN(const Json before, trainer_->evaluate("before"));
    return output_.record(stage_record(evaluation_phase(), 0, before));
  }

  // Step `step` (1-based): its batch, its record and its progress line.
  Status train_step(int64_t step) {
    const std::vector<size_t> batch =
        stream_batch(stage_.training_examples, stage_.batch_size, step - 1, config_.run.seed);
    CARAVAN_ASSIGN_OR_RETURN(const Json metrics, trainer_->step(batch));
    CARAVAN_RETURN_IF_ERROR(output_.record(stage_record(stage_.name, step, metrics)));
    if (step % kProgressEvery == 0 || step == stage_.steps) {
      log::info("event=", stage_.name, "_progress step=", step, "/", stage_.steps, key_values(metrics));
    }
    return Status();
  }

  // checkpoints/step-N/ after `step` steps.
  Status checkpoint(int64_t step) {
    const Json state = {{"stage", stage_.name},
                        {"step", step},
                        {"data", data_position(stage_, step)},
                        {"settings", settings_},
                        {"files", {{"metrics", core::file_size_or_zero(run_dir_.metrics_path())}}}};
    return output_.checkpoint(step, policy_, trainer_->optimizer(), state);
  }

  // Restores the newest committed checkpoint and returns its step; nullopt when there is none
  // (the stage starts over, metrics.jsonl emptied).
  Result<std::optional<int64_t>> resume() {
    const std::filesystem::path final_dir = run_dir_.root() / kStageFinalModelDirectory;
    std::error_code error;
    if (std::filesystem::exists(final_dir, error)) {
      return Status::failed_precondition(str_cat(final_dir.string(), " exists: the ", stage_.name,
                                                 " stage is done; nothing to resume"));
    }
    CARAVAN_ASSIGN_OR_RETURN(const std::optional<core::CommittedCheckpoint> latest,
                             core::latest_committed_checkpoint(run_dir_));
    if (!latest) {
      log::warn("event=resume_without_checkpoint run_dir=", run_dir_.root().string(), " action=\"start at step 0\"");
      CARAVAN_RETURN_IF_ERROR(core::truncate_file(run_dir_.metrics_path(), 0));
      return std::optional<int64_t>();
    }
    ResumePoint point;
    const auto check = [&](const Json& state, const std::filesystem::path& file) -> Status {
      CARAVAN_ASSIGN_OR_RETURN(point, check_stage_state(state, stage_, settings_, file));
      return Status();
    };
    CARAVAN_RETURN_IF_ERROR(read_stage_state(latest->dir, policy_, trainer_->optimizer(), check).status());
    trainer_->restore_steps_done(point.step);
    CARAVAN_RETURN_IF_ERROR(core::truncate_file(run_dir_.metrics_path(), point.metrics_bytes));
    log::info("event=resumed stage=", stage_.name, " checkpoint=", latest->dir.string(), " step=", point.step);
    CARAVAN_RETURN_IF_ERROR(output_.record(
        {{"phase", "resume"}, {"stage", stage_.name}, {"step", point.step}, {"checkpoint", latest->dir.string()}}));
    return std::optional<int64_t>(point.step);
  }

  const StageOptions& config_;
  const core::RunDirectory& run_dir_;
  StageOutput output_;
  model::Llama policy_;
  std::unique_ptr<StageTrainer> trainer_;
  const StageDescription& stage_;
  const Json settings_;
};

} // namespace

Status run_stage(const StageOptions& config, const core::RunDirectory& run_dir, const StageOpener& open,
                 const StageControl& control) {
  at::set_num_threads(static_cast<int>(config.run.threads_per_process));
  CARAVAN_ASSIGN_OR_RETURN(model::ModelSpec spec, model::open_model(config.model));
  CARAVAN_ASSIGN_OR_RETURN(model::Llama policy, model::load_model(spec, config.run.seed));
  CARAVAN_ASSIGN_OR_RETURN(std::unique_ptr<StageTrainer> trainer, open(config, spec, policy));
  Json settings = run_settings(trainer->description(), config, spec);
  StageLoop loop(config, run_dir, StageOutput(run_dir, std::move(spec)), std::move(policy), std::move(trainer),
                 std::move(settings));
  return loop.run(control);
}

} // namespace caravan::learner
