#include "learner/checkpoint.h"

#include <ATen/CPUGeneratorImpl.h>
#include <nlohmann/json.hpp>
#include <torch/serialize.h>

#include <cmath>
#include <mutex>
#include <sstream>

#include "core/atomic_file.h"
#include "core/read_file.h"
#include "learner/sharded_adamw_state.h"
#include "learner/value_model.h"
#include "model/safetensors.h"

namespace caravan::learner {
namespace {

using Json = nlohmann::json;

constexpr const char* kStateFile = "learner_state.json";
constexpr const char* kExactPolicyFile = "policy.safetensors";
constexpr const char* kReferenceFile = "reference.safetensors";
constexpr const char* kOptimizerFile = "optimizer.pt";
constexpr const char* kRngFile = "rng_state.safetensors";
constexpr const char* kValueModelFile = "value_model.safetensors";
constexpr const char* kValueOptimizerFile = "value_optimizer.pt";
constexpr const char* kStageStateFile = "stage_state.json";
// The learner_state.json object holding the value trainer's counter (PPO).
constexpr const char* kValueModelKey = "value_model";
// The tensor of kRngFile holding the default CPU generator's state (bytes).
constexpr const char* kCpuGeneratorTensor = "cpu_default_generator";
// The learner_state.json object holding GrpoTrainerState.
constexpr const char* kTrainerKey = "trainer";

// True when writing `policy` with `options` rounds a parameter (a narrower checkpoint dtype).
bool model_directory_rounds(model::Llama& policy, const model::SaveModelOptions& options) {
  if (!options.dtype) return false;
  for (const at::Tensor& parameter : policy->parameters()) {
    if (parameter.scalar_type() != *options.dtype) return true;
  }
  return false;
}

Status write_optimizer(const std::filesystem::path& file, torch::optim::Optimizer& optimizer) {
  std::ostringstream bytes;
  try {
    torch::save(optimizer, bytes);
  } catch (const c10::Error& e) {
    return Status::unavailable(str_cat(file.string(), ": cannot serialize the optimizer: ", e.what_without_backtrace()));
  }
  return core::write_file_atomically(file, bytes.str());
}

// Reads `file` into `optimizer` (an optimizer over exactly the parameters the file was written for).
Status read_optimizer(const std::filesystem::path& file, torch::optim::Optimizer& optimizer) {
  CARAVAN_ASSIGN_OR_RETURN(const std::string bytes, core::read_file(file, "optimizer state"));
  std::istringstream in(bytes);
  try {
    torch::load(optimizer, in);
  } catch (const c10::Error& e) {
    return Status::invalid_argument(str_cat(file.string(), ": not the state of this optimizer: ",
                                            e.what_without_backtrace()));
  }
  return Status();
}

// The AdamW state of every parameter of `model` from `file` into `optimizer`, which keeps the
// state of its own parameters (all of the model's, or a data-parallel rank's ZeRO-1 shard).
Status read_sharded_optimizer(const std::filesystem::path& file, const torch::nn::Module& model,
                              torch::optim::AdamW& optimizer) {
  const std::unique_ptr<torch::optim::AdamW> whole = whole_model_adamw(model.parameters(), optimizer);
  CARAVAN_RETURN_IF_ERROR(read_optimizer(file, *whole));
  std::vector<std::pair<std::string, at::Tensor>> named;
  for (const auto& item : model.named_parameters(/*recurse=*/true)) named.emplace_back(item.key(), item.value());
  return keep_shard_state(*whole, named, optimizer, file.string());
}

// The name of rank `rank`'s generator state in kRngFile (rank 0's is the single learner's).
std::string rng_tensor_name(int rank) {
  return rank == 0 ? kCpuGeneratorTensor : str_cat(kCpuGeneratorTensor, "_rank", rank);
}

at::Tensor cpu_generator_state() {
  at::Generator generator = at::detail::getDefaultCPUGenerator();
  std::lock_guard<std::mutex> lock(generator.mutex());
  return generator.get_state();
}

// `states`: the generator state of each rank, by rank.
Status write_rng_states(const std::filesystem::path& file, const std::vector<at::Tensor>& states) {
  model::NamedTensors tensors;
  for (size_t rank = 0; rank < states.size(); ++rank) {
    tensors.emplace_back(rng_tensor_name(static_cast<int>(rank)), states[rank]);
  }
  return model::save_safetensors(file, tensors, {});
}

Status read_rng_state(const std::filesystem::path& file, int rank) {
  CARAVAN_ASSIGN_OR_RETURN(const model::NamedTensors tensors, model::load_safetensors(file));
  // A rank the checkpoint had not (it was taken with fewer ranks) takes rank 0's state.
  const at::Tensor* state = nullptr;
  for (const std::string& wanted : {rng_tensor_name(rank), rng_tensor_name(0)}) {
    for (const auto& [name, tensor] : tensors) {
      if (state == nullptr && name == wanted) state = &tensor;
    }
  }
  if (state == nullptr) {
    return Status::invalid_argument(str_cat(file.string(), ": tensor '", kCpuGeneratorTensor, "': missing"));
  }
  at::Generator generator = at::detail::getDefaultCPUGenerator();
  try {
    std::lock_guard<std::mutex> lock(generator.mutex());
    generator.set_state(*state);
  } catch (const c10::Error& e) {
    return Status::invalid_argument(str_cat(file.string(), ": tensor '", rng_tensor_name(rank),
                                            "': not a CPU generator state: ", e.what_without_backtrace()));
  }
  return Status();
}

Result<Json> read_state_json(const std::filesystem::path& file) {
  CARAVAN_ASSIGN_OR_RETURN(const std::string text, core::read_file(file, "learner state"));
  Json state = Json::parse(text, /*cb=*/nullptr, /*allow_exceptions=*/false);
  if (!state.is_object()) return Status::invalid_argument(str_cat(file.string(), ": expected a JSON object"));
  return state;
}

// The "trainer" object of learner_state.json (present once RL started).
Result<GrpoTrainerState> read_trainer_state(const Json& state, const std::filesystem::path& file) {
  const auto trainer = state.find(kTrainerKey);
  if (trainer == state.end() || !trainer->is_object()) {
    return Status::invalid_argument(str_cat(file.string(), ": key '", kTrainerKey, "': expected an object"));
  }
  GrpoTrainerState restored;
  CARAVAN_ASSIGN_OR_RETURN(const uint64_t steps_done, json_counter(*trainer, "steps_done", file));
  restored.steps_done = static_cast<int64_t>(steps_done);
  const auto kl_coef = trainer->find("kl_coef");
  if (kl_coef == trainer->end() || !kl_coef->is_number() || !std::isfinite(kl_coef->get<double>()) ||
      kl_coef->get<double>() < 0) {
    return Status::invalid_argument(str_cat(file.string(), ": key '", kTrainerKey,
                                            ".kl_coef': expected a finite number >= 0"));
  }
  restored.kl_coef = kl_coef->get<double>();
  return restored;
}

// The value model's files and learner_state.json's "value_model": {"steps_done"} into `value`.
Status read_value_trainer(const std::filesystem::path& dir, const Json& state, ValueTrainer& value) {
  CARAVAN_RETURN_IF_ERROR(load_value_model_parameters(dir / kValueModelFile, *value.model()));
  CARAVAN_RETURN_IF_ERROR(read_sharded_optimizer(dir / kValueOptimizerFile, *value.model(), value.optimizer()));
  const auto object = state.find(kValueModelKey);
  if (object == state.end() || !object->is_object()) {
    return Status::invalid_argument(str_cat((dir / kStateFile).string(), ": key '", kValueModelKey,
                                            "': expected an object (the run has a value model)"));
  }
  CARAVAN_ASSIGN_OR_RETURN(const uint64_t steps_done, json_counter(*object, "steps_done", dir / kStateFile));
  value.restore(static_cast<int64_t>(steps_done));
  return Status();
}

Result<CheckpointContents> read_state(const Json& state, const std::filesystem::path& file) {
  CheckpointContents contents;
  CARAVAN_ASSIGN_OR_RETURN(const uint64_t step, json_counter(state, "step", file));
  contents.step = static_cast<int64_t>(step);
  CARAVAN_ASSIGN_OR_RETURN(contents.policy_version, json_counter(state, "policy_version", file));
  CARAVAN_ASSIGN_OR_RETURN(contents.sft_cursor, json_counter(state, "sft_cursor", file));
  const auto rl_started = state.find("rl_started");
  if (rl_started == state.end() || !rl_started->is_boolean()) {
    return Status::invalid_argument(str_cat(file.string(), ": key 'rl_started': expected true or false"));
  }
  contents.rl_started = rl_started->get<bool>();
  return contents;
}

}  // namespace

Result<uint64_t> json_counter(const Json& object, const char* key, const std::filesystem::path& file,
                              std::string_view path) {
  const auto found = object.find(key);
  if (found == object.end() || !found->is_number_unsigned()) {
    return Status::invalid_argument(str_cat(file.string(), ": key '", path.empty() ? std::string_view(key) : path,
                                            "': expected a non-negative integer"));
  }
  return found->get<uint64_t>();
}

Result<std::optional<GatheredRanks>> gather_ranks_state(DataParallel& data_parallel, model::Llama& policy,
                                                        GrpoTrainer* trainer) {
  GatheredRanks gathered;
  if (trainer != nullptr) {
    CARAVAN_ASSIGN_OR_RETURN(gathered.optimizer,
                             gather_adamw_state(data_parallel, policy->parameters(), trainer->optimizer()));
    if (ValueTrainer* value = trainer->value_trainer(); value != nullptr) {
      CARAVAN_ASSIGN_OR_RETURN(gathered.value_optimizer,
                               gather_adamw_state(data_parallel, value->model()->parameters(), value->optimizer()));
    }
  }
  const at::Tensor own_rng = cpu_generator_state();
  for (int root = 0; root < data_parallel.ranks(); ++root) {
    at::Tensor state = data_parallel.rank() == root ? own_rng.clone() : at::empty_like(own_rng);
    CARAVAN_RETURN_IF_ERROR_CTX(data_parallel.broadcast_tensor(state, root), "gathering the ranks' RNG states");
    gathered.rng_states.push_back(state);
  }
  if (data_parallel.rank() != 0) return std::optional<GatheredRanks>();
  return std::optional<GatheredRanks>(std::move(gathered));
}

Status write_checkpoint(const std::filesystem::path& dir, const CheckpointContents& contents, model::Llama& policy,
                        const core::TransformerConfig& config, const model::SaveModelOptions& model_options,
                        GrpoTrainer* trainer, const GatheredRanks* ranks) {
  CARAVAN_CHECK(contents.rl_started == (trainer != nullptr), "write_checkpoint: rl_started ", contents.rl_started,
                " but trainer is ", trainer != nullptr ? "set" : "null");
  std::error_code error;
  if (!std::filesystem::is_directory(dir, error)) {
    return Status::not_found(str_cat(dir.string(), ": checkpoint directory does not exist"));
  }
  CARAVAN_RETURN_IF_ERROR(model::save_model(dir, policy, config, model_options));
  if (model_directory_rounds(policy, model_options)) {
    CARAVAN_RETURN_IF_ERROR(model::save_parameters_file(dir / kExactPolicyFile, policy));
  }
  if (trainer != nullptr) {
    if (model::Llama* reference = trainer->reference(); reference != nullptr) {
      CARAVAN_RETURN_IF_ERROR(model::save_parameters_file(dir / kReferenceFile, *reference));
    }
    CARAVAN_CHECK(ranks == nullptr || ranks->optimizer != nullptr, "write_checkpoint: the ranks' optimizer state is missing");
    CARAVAN_RETURN_IF_ERROR(
        write_optimizer(dir / kOptimizerFile, ranks != nullptr ? *ranks->optimizer : trainer->optimizer()));
    if (ValueTrainer* value = trainer->value_trainer(); value != nullptr) {
      CARAVAN_CHECK(ranks == nullptr || ranks->value_optimizer != nullptr,
                    "write_checkpoint: the ranks' value optimizer state is missing");
      CARAVAN_RETURN_IF_ERROR(save_value_model_parameters(dir / kValueModelFile, *value->model()));
      CARAVAN_RETURN_IF_ERROR(write_optimizer(dir / kValueOptimizerFile,
                                              ranks != nullptr ? *ranks->value_optimizer : value->optimizer()));
    }
  }
  CARAVAN_RETURN_IF_ERROR(
      write_rng_states(dir / kRngFile, ranks != nullptr ? ranks->rng_states : std::vector{cpu_generator_state()}));
  Json state = {{"step", contents.step},
                {"policy_version", contents.policy_version},
                {"sft_cursor", contents.sft_cursor},
                {"rl_started", contents.rl_started}};
  if (trainer != nullptr) {
    const GrpoTrainerState trainer_state = trainer->state();
    state[kTrainerKey] = {{"steps_done", trainer_state.steps_done}, {"kl_coef", trainer_state.kl_coef}};
    if (const ValueTrainer* value = trainer->value_trainer(); value != nullptr) {
      state[kValueModelKey] = {{"steps_done", value->steps_done()}};
    }
  }
  return core::write_file_atomically(dir / kStateFile, state.dump(2) + "\n");
}

Result<CheckpointContents> read_checkpoint(const std::filesystem::path& dir, model::Llama& policy,
                                           std::unique_ptr<GrpoTrainer>& trainer,
                                           const std::function<Result<std::unique_ptr<GrpoTrainer>>()>& make_trainer,
                                           int rank) {
  CARAVAN_ASSIGN_OR_RETURN(const Json state, read_state_json(dir / kStateFile));
  CARAVAN_ASSIGN_OR_RETURN(const CheckpointContents contents, read_state(state, dir / kStateFile));
  std::error_code error;
  if (std::filesystem::exists(dir / kExactPolicyFile, error)) {
    CARAVAN_RETURN_IF_ERROR(model::load_parameters_file(dir / kExactPolicyFile, policy));
  } else {
    CARAVAN_RETURN_IF_ERROR(model::load_model_weights(dir, policy));
  }
  trainer.reset();
  if (contents.rl_started) {
    CARAVAN_ASSIGN_OR_RETURN(trainer, make_trainer());
    if (model::Llama* reference = trainer->reference(); reference != nullptr) {
      if (!std::filesystem::exists(dir / kReferenceFile, error)) {
        return Status::invalid_argument(str_cat((dir / kReferenceFile).string(), ": missing; the run that wrote this ",
                                                "checkpoint had no reference model ([grpo] kl_coef = 0), so it cannot ",
                                                "resume with a KL penalty"));
      }
      CARAVAN_RETURN_IF_ERROR(model::load_parameters_file(dir / kReferenceFile, *reference));
    }
    CARAVAN_RETURN_IF_ERROR(read_sharded_optimizer(dir / kOptimizerFile, *policy, trainer->optimizer()));
    CARAVAN_ASSIGN_OR_RETURN(const GrpoTrainerState trainer_state, read_trainer_state(state, dir / kStateFile));
    trainer->restore(trainer_state);
    if (ValueTrainer* value = trainer->value_trainer(); value != nullptr) {
      CARAVAN_RETURN_IF_ERROR(read_value_trainer(dir, state, *value));
    }
  }
  CARAVAN_RETURN_IF_ERROR(read_rng_state(dir / kRngFile, rank));
  return contents;
}

Status write_stage_state(const std::filesystem::path& dir, model::Llama& policy,
                         const model::SaveModelOptions& model_options, torch::optim::Optimizer& optimizer,
                         const Json& state) {
  std::error_code error;
  if (!std::filesystem::is_directory(dir, error)) {
    return Status::not_found(str_cat(dir.string(), ": checkpoint directory does not exist"));
  }
  if (model_directory_rounds(policy, model_options)) {
    CARAVAN_RETURN_IF_ERROR(model::save_parameters_file(dir / kExactPolicyFile, policy));
  }
  CARAVAN_RETURN_IF_ERROR(write_optimizer(dir / kOptimizerFile, optimizer));
  CARAVAN_RETURN_IF_ERROR(write_rng_states(dir / kRngFile, {cpu_generator_state()}));
  return core::write_file_atomically(dir / kStageStateFile, state.dump(2) + "\n");
}

Result<Json> read_stage_state(const std::filesystem::path& dir, model::Llama& policy,
                              torch::optim::Optimizer& optimizer, const StageStateCheck& check) {
  CARAVAN_ASSIGN_OR_RETURN(Json state, read_state_json(dir / kStageStateFile));
  CARAVAN_RETURN_IF_ERROR(check(state, dir / kStageStateFile));
  std::error_code error;
  if (std::filesystem::exists(dir / kExactPolicyFile, error)) {
    CARAVAN_RETURN_IF_ERROR(model::load_parameters_file(dir / kExactPolicyFile, policy));
  } else {
    CARAVAN_RETURN_IF_ERROR(model::load_model_weights(dir, policy));
  }
  CARAVAN_RETURN_IF_ERROR(read_optimizer(dir / kOptimizerFile, optimizer));
  CARAVAN_RETURN_IF_ERROR(read_rng_state(dir / kRngFile, /*rank=*/0));
  return state;
}

} // namespace caravan::learner
