#include "learner/checkpoint.h"

#include <nlohmann/json.hpp>
#include <torch/serialize.h>

#include "core/atomic_file.h"

namespace caravan::learner {
namespace {

Status write_contents(const std::filesystem::path& staging, const CheckpointContents& contents, model::Llama& model,
                      const core::TransformerConfig& config, const model::SaveModelOptions& model_options,
                      torch::optim::Optimizer* optimizer) {
  CARAVAN_RETURN_IF_ERROR(model::save_model(staging, model, config, model_options));
  if (optimizer != nullptr) {
    try {
      torch::save(*optimizer, (staging / "optimizer.pt").string());
    } catch (const c10::Error& e) {
      return Status::unavailable(str_cat((staging / "optimizer.pt").string(), ": ", e.what_without_backtrace()));
    }
  }
  const nlohmann::json trainer_state = {{"step", contents.step}, {"policy_version", contents.policy_version}};
  CARAVAN_RETURN_IF_ERROR(core::write_file_atomically(staging / "trainer_state.json", trainer_state.dump(2)));
  return core::write_file_atomically(staging / "controller_state.json", contents.controller_state);
}

}  // namespace

Result<std::filesystem::path> write_checkpoint(const core::RunDirectory& run_dir, const CheckpointContents& contents,
                                               model::Llama& model, const core::TransformerConfig& config,
                                               const model::SaveModelOptions& model_options,
                                               torch::optim::Optimizer* optimizer) {
  const std::filesystem::path final_dir = run_dir.checkpoint_dir(contents.step);
  const std::filesystem::path staging = final_dir.parent_path() / ("." + final_dir.filename().string() + ".staging");
  std::error_code error;
  if (std::filesystem::exists(final_dir, error)) {
    return Status::failed_precondition(str_cat(final_dir.string(), ": checkpoint already exists"));
  }
  std::filesystem::remove_all(staging, error);  // leftovers of a crashed attempt
  std::filesystem::create_directories(staging, error);
  if (error) return Status::unavailable(str_cat(staging.string(), ": cannot create: ", error.message()));
  Status status = write_contents(staging, contents, model, config, model_options, optimizer);
  if (status.ok()) status = core::publish_directory_atomically(staging, final_dir);
  if (!status.ok()) {
    std::filesystem::remove_all(staging, error);
    return status.with_context(str_cat("checkpoint step ", contents.step));
  }
  return final_dir;
}

} // namespace caravan::learner
