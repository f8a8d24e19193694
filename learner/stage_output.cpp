#include "learner/stage_output.h"

#include "core/atomic_file.h"
#include "core/checkpoints.h"
#include "core/log.h"
#include "learner/checkpoint.h"
#include "model/byte_tokenizer_files.h"
#include "model/checkpoint_io.h"

namespace caravan::learner {

Status StageOutput::record(const nlohmann::json& record) const {
  return run_dir_.append_jsonl(run_dir_.metrics_path(), record);
}

Status StageOutput::write_model(const std::filesystem::path& dir, model::Llama& policy) const {
  CARAVAN_RETURN_IF_ERROR(model::save_model(dir, policy, spec_.config, model::save_options(spec_)));
  if (!spec_.pretrained()) CARAVAN_RETURN_IF_ERROR(model::write_byte_tokenizer_files(dir));
  return Status();
}

Status StageOutput::checkpoint(int64_t step, model::Llama& policy, torch::optim::Optimizer& optimizer,
                               const nlohmann::json& state) const {
  CARAVAN_ASSIGN_OR_RETURN(const std::filesystem::path dir, core::begin_checkpoint(run_dir_, step));
  CARAVAN_RETURN_IF_ERROR(write_model(dir, policy));
  CARAVAN_RETURN_IF_ERROR(write_stage_state(dir, policy, model::save_options(spec_), optimizer, state));
  const nlohmann::json manifest = {{"step", step}, {"stage", state.at("stage")}};
  CARAVAN_RETURN_IF_ERROR(core::commit_checkpoint(dir, manifest.dump(2)));
  log::info("event=checkpoint step=", step, " dir=", dir.string());
  return Status();
}

Result<std::filesystem::path> StageOutput::export_final(model::Llama& policy) const {
  const std::filesystem::path final_dir = run_dir_.root() / kStageFinalModelDirectory;
  const std::filesystem::path staging = run_dir_.root() / (std::string(kStageFinalModelDirectory) + ".staging");
  std::error_code error;
  std::filesystem::remove_all(staging, error);
  if (!std::filesystem::create_directories(staging, error)) {
    return Status::unavailable(str_cat(staging.string(), ": cannot create directory: ", error.message()));
  }
  CARAVAN_RETURN_IF_ERROR(write_model(staging, policy));
  CARAVAN_RETURN_IF_ERROR(core::publish_directory_atomically(staging, final_dir));
  return final_dir;
}

} // namespace caravan::learner
