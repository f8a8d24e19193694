#include "learner/value_model.h"

#include <set>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "core/log.h"
#include "core/read_file.h"
#include "learner/train_step.h"
#include "model/checkpoint_io.h"
#include "model/safetensors.h"

namespace caravan::learner {
namespace {

using Json = nlohmann::json;

// The Hugging Face names of a sequence classifier's head and of a causal LM's output head.
constexpr const char* kScoreTensor = "score.weight";
constexpr const char* kLmHeadTensor = "lm_head.weight";
constexpr std::string_view kClassifierSuffix = "ForSequenceClassification";
constexpr std::string_view kCausalLmSuffix = "ForCausalLM";

core::TransformerConfig body_config(core::TransformerConfig config) {
  config.tie_word_embeddings = true;
  return config;
}

// Copies `source` into `target` (dtype and device converted); kInvalidArgument naming `name`
// when the shapes differ.
Status copy_checked(const std::string& name, const at::Tensor& source, at::Tensor& target) {
  if (source.sizes() != target.sizes()) {
    return Status::invalid_argument(str_cat("tensor '", name, "': shape ", source.sizes(), ", expected ",
                                            target.sizes()));
  }
  at::NoGradGuard no_grad;
  target.copy_(source);
  return Status();
}

// kInvalidArgument naming `where` and the first parameter not in `loaded`.
Status require_all(const torch::OrderedDict<std::string, at::Tensor>& parameters, const std::set<std::string>& loaded,
                   const std::filesystem::path& where) {
  for (const auto& item : parameters) {
    if (loaded.count(item.key()) == 0) {
      return Status::invalid_argument(str_cat(where.string(), ": tensor '", item.key(), "': missing"));
    }
  }
  return Status();
}

// config.json of `dir` with a sequence classifier's class renamed to its causal-LM body's, so
// that model/checkpoint_io.h reads it; "num_labels" must be 1 (one value per state).
Result<core::TransformerConfig> read_value_model_config(const std::filesystem::path& dir) {
  const std::filesystem::path file = dir / model::kModelConfigFile;
  CARAVAN_ASSIGN_OR_RETURN(const std::string text, core::read_file(file, "value model config"));
  Json json = Json::parse(text, /*cb=*/nullptr, /*allow_exceptions=*/false);
  if (!json.is_object()) return Status::invalid_argument(str_cat(file.string(), ": expected a JSON object"));
  if (const auto labels = json.find("num_labels"); labels != json.end() && *labels != 1) {
    return Status::invalid_argument(str_cat(file.string(), ": key 'num_labels': a value model has one output, got ",
                                            labels->dump()));
  }
  if (const auto archs = json.find("architectures"); archs != json.end() && archs->is_array()) {
    for (Json& name : *archs) {
      if (!name.is_string()) continue;
      const std::string text_name = name.get<std::string>();
      if (text_name.ends_with(kClassifierSuffix)) {
        name = str_cat(text_name.substr(0, text_name.size() - kClassifierSuffix.size()), kCausalLmSuffix);
      }
    }
  }
  return model::parse_model_config(json.dump(), file);
}

} // namespace

ValueModelImpl::ValueModelImpl(const core::TransformerConfig& config)
    : body_(register_module("body", model::Llama(body_config(config), model::WeightInit::kNone))),
      head_(register_module("head", torch::nn::Linear(torch::nn::LinearOptions(config.hidden_size, 1).bias(false)))) {
  at::NoGradGuard no_grad;
  head_->weight.zero_();
}

at::Tensor ValueModelImpl::forward(const SequenceBatch& batch) {
  const at::Tensor hidden = target_hidden_states(*body_, batch);
  return head_->forward(hidden).squeeze(-1).to(at::kFloat);
}

ValueModel value_model_from_policy(const model::Llama& policy) {
  ValueModel value(policy->config());
  const at::Tensor first = policy->parameters().front();
  value->to(first.device(), first.scalar_type());
  at::NoGradGuard no_grad;
  const auto source_parameters = policy->named_parameters(/*recurse=*/true);
  for (auto& item : value->body()->named_parameters(/*recurse=*/true)) {
    item.value().copy_(source_parameters[item.key()]);
  }
  const auto source_buffers = policy->named_buffers(/*recurse=*/true);
  for (auto& item : value->body()->named_buffers(/*recurse=*/true)) item.value().copy_(source_buffers[item.key()]);
  value->train();
  return value;
}

Result<ValueModel> load_value_model(const std::filesystem::path& dir, int64_t policy_vocab_size, at::ScalarType dtype) {
  CARAVAN_ASSIGN_OR_RETURN(const core::TransformerConfig config, read_value_model_config(dir));
  if (config.vocab_size < policy_vocab_size) {
    return Status::invalid_argument(str_cat((dir / model::kModelConfigFile).string(), ": key 'vocab_size': ",
                                            config.vocab_size, " is smaller than the policy's ", policy_vocab_size,
                                            " (the value model reads the policy's token ids)"));
  }
  ValueModel value(config);
  value->to(dtype);
  auto body_parameters = value->body()->named_parameters(/*recurse=*/true);
  std::set<std::string> loaded;
  bool has_score = false;
  CARAVAN_ASSIGN_OR_RETURN(const std::vector<std::filesystem::path> files, model::weight_files(dir));
  for (const std::filesystem::path& file : files) {
    const auto load = [&](const std::string& name, const at::Tensor& source) -> Status {
      if (name == kLmHeadTensor) return Status();
      if (name == kScoreTensor) {
        has_score = true;
        return copy_checked(name, source, value->head()->weight);
      }
      at::Tensor* parameter = body_parameters.find(name);
      if (parameter == nullptr) {
        return Status::invalid_argument(str_cat("tensor '", name, "': not a parameter of a value model (",
                                                core::class_name(config.architecture), " body + ", kScoreTensor, ")"));
      }
      CARAVAN_RETURN_IF_ERROR(copy_checked(name, source, *parameter));
      loaded.insert(name);
      return Status();
    };
    CARAVAN_RETURN_IF_ERROR(model::visit_safetensors(file, load));
  }
  CARAVAN_RETURN_IF_ERROR(require_all(body_parameters, loaded, dir));
  if (!has_score) {
    log::info("event=value_head_initialised dir=", dir.string(), " reason=no_", kScoreTensor,
              " init=zeros (the value model starts at V = 0)");
  }
  value->train();
  return value;
}

Status save_value_model_parameters(const std::filesystem::path& file, ValueModelImpl& model) {
  model::NamedTensors tensors;
  for (const auto& item : model.named_parameters(/*recurse=*/true)) tensors.emplace_back(item.key(), item.value());
  return model::save_safetensors(file, tensors, {{"format", "pt"}});
}

Status load_value_model_parameters(const std::filesystem::path& file, ValueModelImpl& model) {
  auto parameters = model.named_parameters(/*recurse=*/true);
  std::set<std::string> loaded;
  const auto load = [&](const std::string& name, const at::Tensor& source) -> Status {
    at::Tensor* parameter = parameters.find(name);
    if (parameter == nullptr) return Status::invalid_argument(str_cat("tensor '", name, "': not in the value model"));
    CARAVAN_RETURN_IF_ERROR(copy_checked(name, source, *parameter));
    loaded.insert(name);
    return Status();
  };
  CARAVAN_RETURN_IF_ERROR(model::visit_safetensors(file, load));
  return require_all(parameters, loaded, file);
}

} // namespace caravan::learner
