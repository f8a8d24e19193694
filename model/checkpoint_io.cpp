#include "model/checkpoint_io.h"

#include <fstream>
#include <iterator>
#include <optional>
#include <string>
#include <tuple>
#include <unordered_map>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/atomic_file.h"
#include "model/byte_tokenizer.h"
#include "model/safetensors.h"

namespace caravan::model {
namespace {

using Json = nlohmann::json;

constexpr const char* kConfigFile = "config.json";
constexpr const char* kWeightsFile = "model.safetensors";

auto architecture(const core::TransformerConfig& c) {
  return std::tie(c.vocab_size, c.hidden_size, c.intermediate_size, c.num_layers, c.num_heads, c.num_kv_heads,
                  c.tie_word_embeddings);
}

Json config_json(const core::TransformerConfig& config) {
  return Json{
      {"architectures", {"LlamaForCausalLM"}},
      {"model_type", "llama"},
      {"vocab_size", config.vocab_size},
      {"hidden_size", config.hidden_size},
      {"intermediate_size", config.intermediate_size},
      {"num_hidden_layers", config.num_layers},
      {"num_attention_heads", config.num_heads},
      {"num_key_value_heads", config.num_kv_heads},
      {"max_position_embeddings", config.max_position_embeddings},
      {"rope_theta", config.rope_theta},
      {"rms_norm_eps", config.rms_norm_eps},
      {"tie_word_embeddings", config.tie_word_embeddings},
      {"hidden_act", "silu"},
      {"attention_bias", false},
      {"mlp_bias", false},
      {"torch_dtype", "float32"},
      // TODO(tokenizer): take the ids from the run's tokenizer once BPE tokenizers land.
      {"bos_token_id", ByteTokenizer::kBosId},
      {"eos_token_id", ByteTokenizer::kEosId},
      {"pad_token_id", ByteTokenizer::kPadId},
  };
}

// json[key] as a positive integer; `fallback` when absent (required if nullopt).
Result<int64_t> positive_int(const Json& json, const char* key, std::optional<int64_t> fallback = std::nullopt) {
  const auto it = json.find(key);
  if (it == json.end() && fallback) return *fallback;
  if (it == json.end()) return Status::invalid_argument(str_cat("missing key '", key, "'"));
  if (!it->is_number_integer() || it->get<int64_t>() <= 0) {
    return Status::invalid_argument(str_cat("key '", key, "': expected a positive integer, got ", it->dump()));
  }
  return it->get<int64_t>();
}

Result<double> positive_number(const Json& json, const char* key, double fallback) {
  const auto it = json.find(key);
  if (it == json.end()) return fallback;
  if (!it->is_number() || it->get<double>() <= 0.0) {
    return Status::invalid_argument(str_cat("key '", key, "': expected a positive number, got ", it->dump()));
  }
  return it->get<double>();
}

Result<core::TransformerConfig> parse_config(const Json& json) {
  if (!json.is_object()) return Status::invalid_argument("not a JSON object");
  if (const auto type = json.find("model_type"); type != json.end() && *type != "llama") {
    return Status::invalid_argument(str_cat("key 'model_type': only \"llama\" is supported, got ", type->dump()));
  }
  if (const auto scaling = json.find("rope_scaling"); scaling != json.end() && !scaling->is_null()) {
    return Status::invalid_argument(str_cat("key 'rope_scaling': not supported yet, got ", scaling->dump()));
  }
  core::TransformerConfig config;
  CARAVAN_ASSIGN_OR_RETURN(config.vocab_size, positive_int(json, "vocab_size"));
  CARAVAN_ASSIGN_OR_RETURN(config.hidden_size, positive_int(json, "hidden_size"));
  CARAVAN_ASSIGN_OR_RETURN(config.intermediate_size, positive_int(json, "intermediate_size"));
  CARAVAN_ASSIGN_OR_RETURN(config.num_layers, positive_int(json, "num_hidden_layers"));
  CARAVAN_ASSIGN_OR_RETURN(config.num_heads, positive_int(json, "num_attention_heads"));
  CARAVAN_ASSIGN_OR_RETURN(config.num_kv_heads, positive_int(json, "num_key_value_heads", config.num_heads));
  CARAVAN_ASSIGN_OR_RETURN(config.max_position_embeddings,
                           positive_int(json, "max_position_embeddings", config.max_position_embeddings));
  CARAVAN_ASSIGN_OR_RETURN(config.rope_theta, positive_number(json, "rope_theta", 10000.0));
  CARAVAN_ASSIGN_OR_RETURN(config.rms_norm_eps, positive_number(json, "rms_norm_eps", config.rms_norm_eps));
  if (const auto tie = json.find("tie_word_embeddings"); tie != json.end()) {
    if (!tie->is_boolean()) return Status::invalid_argument("key 'tie_word_embeddings': expected a boolean");
    config.tie_word_embeddings = tie->get<bool>();
  }
  if (config.hidden_size % config.num_heads != 0 || config.head_dim() % 2 != 0) {
    return Status::invalid_argument(str_cat("key 'hidden_size': ", config.hidden_size, " / num_attention_heads ",
                                            config.num_heads, " must be an even integer head_dim"));
  }
  if (config.num_heads % config.num_kv_heads != 0) {
    return Status::invalid_argument(str_cat("key 'num_key_value_heads': ", config.num_kv_heads,
                                            " must divide num_attention_heads ", config.num_heads));
  }
  if (const auto head_dim = json.find("head_dim"); head_dim != json.end() && *head_dim != config.head_dim()) {
    return Status::invalid_argument(str_cat("key 'head_dim': ", head_dim->dump(), " differs from hidden_size / ",
                                            "num_attention_heads = ", config.head_dim(), " (not supported)"));
  }
  return config;
}

} // namespace

Status save_model(const std::filesystem::path& dir, Llama& model, const core::TransformerConfig& config) {
  CARAVAN_CHECK(architecture(config) == architecture(model->config()),
                "save_model: config does not describe the model it is saved with");
  std::error_code error;
  std::filesystem::create_directories(dir, error);
  if (error) return Status::unavailable(str_cat(dir.string(), ": cannot create directory: ", error.message()));

  NamedTensors tensors;
  for (const auto& item : model->named_parameters()) tensors.emplace_back(item.key(), item.value());
  CARAVAN_RETURN_IF_ERROR(save_safetensors(dir / kWeightsFile, tensors, {{"format", "pt"}}));
  const std::string text = config_json(config).dump(2) + "\n";
  return core::write_file_atomically(dir / kConfigFile, text);
}

Result<core::TransformerConfig> read_model_config(const std::filesystem::path& dir) {
  const std::filesystem::path path = dir / kConfigFile;
  std::ifstream file(path);
  if (!file) return Status::not_found(str_cat(path.string(), ": cannot open"));
  const std::string text((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
  const Json json = Json::parse(text, /*cb=*/nullptr, /*allow_exceptions=*/false);
  if (json.is_discarded()) return Status::invalid_argument(str_cat(path.string(), ": invalid JSON"));
  auto config = parse_config(json);
  if (!config.ok()) return config.status().with_context(path.string());
  return config;
}

Status load_model_weights(const std::filesystem::path& dir, Llama& model) {
  const std::filesystem::path path = dir / kWeightsFile;
  CARAVAN_ASSIGN_OR_RETURN(NamedTensors loaded, load_safetensors(path));
  std::unordered_map<std::string, size_t> index_of;
  for (size_t i = 0; i < loaded.size(); ++i) index_of.emplace(loaded[i].first, i);
  std::vector<bool> used(loaded.size(), false);

  at::NoGradGuard no_grad;
  for (auto& item : model->named_parameters()) {
    const std::string where = str_cat(path.string(), ": tensor '", item.key(), "'");
    const auto found = index_of.find(item.key());
    if (found == index_of.end()) return Status::invalid_argument(str_cat(where, ": missing"));
    const at::Tensor& source = loaded[found->second].second;
    if (source.sizes() != item.value().sizes()) {
      return Status::invalid_argument(
          str_cat(where, ": shape ", source.sizes(), " does not match the model's ", item.value().sizes()));
    }
    if (!at::isFloatingType(source.scalar_type())) {
      return Status::invalid_argument(str_cat(where, ": dtype ", source.scalar_type(), " is not floating point"));
    }
    item.value().copy_(source);
    used[found->second] = true;
  }
  for (size_t i = 0; i < loaded.size(); ++i) {
    if (!used[i]) {
      return Status::invalid_argument(
          str_cat(path.string(), ": tensor '", loaded[i].first, "' is not a parameter of the model"));
    }
  }
  return Status::ok_status();
}

} // namespace caravan::model
