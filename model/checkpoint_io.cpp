#include "model/checkpoint_io.h"

#include <algorithm>
#include <array>
#include <cstdio>
#include <map>
#include <optional>
#include <regex>
#include <set>
#include <string>
#include <tuple>
#include <unordered_map>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/atomic_file.h"
#include "core/read_file.h"
#include "core/rope_spec.h"
#include "model/generation_config.h"
#include "model/rope_config_json.h"
#include "model/safetensors.h"

namespace caravan::model {
namespace {

using Json = nlohmann::json;

constexpr const char* kConfigFile = kModelConfigFile;
constexpr const char* kWeightsFile = kModelWeightsFile;
constexpr const char* kIndexFile = kModelWeightsIndexFile;
// Everything beside the weights that makes a Hugging Face directory loadable by transformers'
// AutoTokenizer and generation (both the fast tokenizer.json and a slow tokenizer's files).
constexpr std::array<const char*, 9> kTokenizerFiles = {
    "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "generation_config.json",
    "chat_template.jinja", "vocab.json", "merges.txt", "added_tokens.json", "tokenizer.model"};

// What save_model's consistency check compares: everything that shapes the parameters.
auto shape_fields(const core::TransformerConfig& c) {
  return std::make_tuple(c.architecture, c.vocab_size, c.hidden_size, c.intermediate_size, c.num_layers, c.num_heads,
                         c.num_kv_heads, c.head_dim(), c.tie_word_embeddings);
}

const char* dtype_name(at::ScalarType dtype) {
  switch (dtype) {
    case at::kBFloat16: return "bfloat16";
    case at::kHalf: return "float16";
    case at::kDouble: return "float64";
    default: return "float32";
  }
}

Json token_id_json(const std::optional<int64_t>& id) { return id ? Json(*id) : Json(nullptr); }

Json eos_json(const std::vector<int64_t>& ids) {
  if (ids.empty()) return nullptr;
  if (ids.size() == 1) return ids.front();
  return ids;
}

// config.json for `config` in the layout transformers' config class of its architecture writes.
Json config_json(const core::TransformerConfig& config, at::ScalarType dtype) {
  Json json{
      {"architectures", {std::string(core::class_name(config.architecture))}},
      {"model_type", std::string(core::enum_name(config.architecture))},
      {"vocab_size", config.vocab_size},
      {"hidden_size", config.hidden_size},
      {"intermediate_size", config.intermediate_size},
      {"num_hidden_layers", config.num_layers},
      {"num_attention_heads", config.num_heads},
      {"num_key_value_heads", config.num_kv_heads},
      {"head_dim", config.head_dim()},
      {"max_position_embeddings", config.max_position_embeddings},
      {"rms_norm_eps", config.rms_norm_eps},
      {"tie_word_embeddings", config.tie_word_embeddings},
      {"hidden_act", "silu"},
      {"attention_dropout", 0.0},
      {"torch_dtype", dtype_name(dtype)},
      {"bos_token_id", token_id_json(config.bos_token_id)},
      {"eos_token_id", eos_json(config.eos_token_ids)},
      {"pad_token_id", token_id_json(config.pad_token_id)},
  };
  switch (config.architecture) {
    case core::Architecture::kLlama:
      json["attention_bias"] = false;
      json["mlp_bias"] = false;
      break;
    case core::Architecture::kQwen2:  // q/k/v biases are implied by the class
      json["use_sliding_window"] = false;
      json["sliding_window"] = nullptr;
      json["max_window_layers"] = config.num_layers;
      break;
    case core::Architecture::kQwen3:
      json["attention_bias"] = false;
      json["use_sliding_window"] = false;
      json["sliding_window"] = nullptr;
      json["max_window_layers"] = config.num_layers;
      break;
    case core::Architecture::kOlmo2:
      json["attention_bias"] = false;
      break;
  }
  write_rope_keys(config, json);
  return json;
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

// Fails naming `key` when json[key] is present, not null and not equal to `supported`.
Status require_value(const Json& json, const char* key, const Json& supported, const char* why) {
  const auto it = json.find(key);
  if (it == json.end() || it->is_null() || *it == supported) return Status::ok_status();
  return Status::invalid_argument(str_cat("key '", key, "': only ", supported.dump(), " is supported (", why,
                                          "), got ", it->dump()));
}

// The architecture named by "architectures" (first supported class) or else "model_type"; Llama
// when neither is given. The two must agree when both are.
Result<core::Architecture> parse_architecture(const Json& json) {
  std::string supported;
  for (core::Architecture a : core::kAllArchitectures) {
    supported += str_cat(supported.empty() ? "" : ", ", "\"", core::class_name(a), "\"");
  }
  std::optional<core::Architecture> architecture;
  if (const auto archs = json.find("architectures"); archs != json.end() && !archs->is_null()) {
    for (const Json& name : archs->is_array() ? *archs : Json::array()) {
      for (core::Architecture a : core::kAllArchitectures) {
        if (!architecture && name == core::class_name(a)) architecture = a;
      }
    }
    if (!architecture) {
      return Status::invalid_argument(
          str_cat("key 'architectures': expected a list holding one of ", supported, ", got ", archs->dump()));
    }
  }
  if (const auto type = json.find("model_type"); type != json.end() && !type->is_null()) {
    const std::optional<core::Architecture> typed =
        type->is_string() ? core::parse_architecture(type->get<std::string>()) : std::nullopt;
    if (!typed || (architecture && *typed != *architecture)) {
      return Status::invalid_argument(str_cat(
          "key 'model_type': expected ",
          architecture ? str_cat("\"", core::enum_name(*architecture), "\" (as 'architectures' says)")
                       : std::string("\"llama\", \"qwen2\", \"qwen3\" or \"olmo2\""),
          ", got ", type->dump()));
    }
    architecture = typed;
  }
  return architecture.value_or(core::Architecture::kLlama);
}

// Rejects the features of these architectures that Caravan does not implement.
Status reject_unsupported(const Json& json, core::Architecture architecture) {
  CARAVAN_RETURN_IF_ERROR(require_value(json, "hidden_act", "silu", "SwiGLU MLP"));
  CARAVAN_RETURN_IF_ERROR(require_value(json, "mlp_bias", false, "bias-free MLP"));
  // Qwen2's q/k/v biases are implied by the class, which has no attention_bias key.
  if (architecture != core::Architecture::kQwen2) {
    CARAVAN_RETURN_IF_ERROR(require_value(json, "attention_bias", false, "bias-free attention"));
  }
  CARAVAN_RETURN_IF_ERROR(require_value(json, "use_sliding_window", false, "sliding-window attention is not implemented"));
  if (const auto types = json.find("layer_types"); types != json.end() && types->is_array()) {
    for (const Json& type : *types) {
      if (type != "full_attention") {
        return Status::invalid_argument(str_cat("key 'layer_types': only \"full_attention\" layers are supported, got ",
                                                type.dump()));
      }
    }
  }
  return Status::ok_status();
}

// transformers' defaults of the keys a config.json may leave out.
struct ArchitectureDefaults {
  int64_t max_position_embeddings;
  double rms_norm_eps;
};
ArchitectureDefaults defaults_of(core::Architecture architecture) {
  switch (architecture) {
    case core::Architecture::kLlama: return {2048, 1e-6};
    case core::Architecture::kQwen2:
    case core::Architecture::kQwen3: return {32768, 1e-6};
    case core::Architecture::kOlmo2: return {2048, 1e-5};
  }
  return {2048, 1e-6};
}

// The keys RoPE depends on, checked against each other (core::resolve_rope): the architecture
// (for max_position_embeddings' default), hidden_size, num_attention_heads, head_dim,
// max_position_embeddings and the RoPE keys of model/rope_config_json.h. The other fields keep
// TransformerConfig's defaults.
Result<core::TransformerConfig> parse_rope_relevant_keys(const Json& json) {
  if (!json.is_object()) return Status::invalid_argument("not a JSON object");
  core::TransformerConfig config;
  CARAVAN_ASSIGN_OR_RETURN(config.architecture, parse_architecture(json));
  CARAVAN_ASSIGN_OR_RETURN(config.hidden_size, positive_int(json, "hidden_size"));
  CARAVAN_ASSIGN_OR_RETURN(config.num_heads, positive_int(json, "num_attention_heads"));
  CARAVAN_ASSIGN_OR_RETURN(config.max_position_embeddings,
                           positive_int(json, "max_position_embeddings",
                                        defaults_of(config.architecture).max_position_embeddings));
  if (const auto head_dim = json.find("head_dim"); head_dim != json.end() && !head_dim->is_null()) {
    CARAVAN_ASSIGN_OR_RETURN(config.explicit_head_dim, positive_int(json, "head_dim"));
  } else if (config.hidden_size % config.num_heads != 0) {
    return Status::invalid_argument(str_cat("key 'hidden_size': ", config.hidden_size,
                                            " is not a multiple of num_attention_heads ", config.num_heads,
                                            " and no head_dim is given"));
  }
  if (config.head_dim() % 2 != 0) {
    return Status::invalid_argument(str_cat(config.explicit_head_dim > 0 ? "key 'head_dim': " : "key 'hidden_size': ",
                                            "head_dim ", config.head_dim(), " must be even for RoPE"));
  }
  CARAVAN_RETURN_IF_ERROR(read_rope_keys(json, config));
  CARAVAN_RETURN_IF_ERROR(core::resolve_rope(config));
  return config;
}

Result<core::TransformerConfig> parse_config(const Json& json) {
  CARAVAN_ASSIGN_OR_RETURN(core::TransformerConfig config, parse_rope_relevant_keys(json));
  CARAVAN_RETURN_IF_ERROR(reject_unsupported(json, config.architecture));
  CARAVAN_ASSIGN_OR_RETURN(config.vocab_size, positive_int(json, "vocab_size"));
  CARAVAN_ASSIGN_OR_RETURN(config.intermediate_size, positive_int(json, "intermediate_size"));
  CARAVAN_ASSIGN_OR_RETURN(config.num_layers, positive_int(json, "num_hidden_layers"));
  CARAVAN_ASSIGN_OR_RETURN(config.num_kv_heads, positive_int(json, "num_key_value_heads", config.num_heads));
  CARAVAN_ASSIGN_OR_RETURN(config.rms_norm_eps,
                           positive_number(json, "rms_norm_eps", defaults_of(config.architecture).rms_norm_eps));
  if (const auto tie = json.find("tie_word_embeddings"); tie != json.end()) {
    if (!tie->is_boolean()) return Status::invalid_argument("key 'tie_word_embeddings': expected a boolean");
    config.tie_word_embeddings = tie->get<bool>();
  }
  if (config.num_heads % config.num_kv_heads != 0) {
    return Status::invalid_argument(str_cat("key 'num_key_value_heads': ", config.num_kv_heads,
                                            " must divide num_attention_heads ", config.num_heads));
  }
  CARAVAN_ASSIGN_OR_RETURN(const SpecialTokenIds ids, parse_special_token_ids(json));
  config.bos_token_id = ids.bos;
  config.eos_token_ids = ids.eos;
  config.pad_token_id = ids.pad;
  return config;
}

// "model-00002-of-00005.safetensors" (1-based `shard`), as transformers names shards.
std::string shard_file_name(size_t shard, size_t count) {
  char name[64];
  std::snprintf(name, sizeof(name), "model-%05zu-of-%05zu.safetensors", shard, count);
  return name;
}

// Removes the weights files a previous save may have left in `dir` (single file, index, shards).
Status remove_old_weights(const std::filesystem::path& dir) {
  static const std::regex kShardPattern(R"(model-\d{5}-of-\d{5}\.safetensors)");
  std::error_code error;
  for (const auto& entry : std::filesystem::directory_iterator(dir, error)) {
    const std::string name = entry.path().filename().string();
    if (name == kWeightsFile || name == kIndexFile || std::regex_match(name, kShardPattern)) {
      std::filesystem::remove(entry.path(), error);
      if (error) return Status::unavailable(str_cat(entry.path().string(), ": cannot remove: ", error.message()));
    }
  }
  if (error) return Status::unavailable(str_cat(dir.string(), ": cannot list: ", error.message()));
  return Status::ok_status();
}

// Writes `tensors` as dir/model.safetensors, or as shards of at most `max_shard_bytes` plus the index.
Status write_weights(const std::filesystem::path& dir, const NamedTensors& tensors, int64_t max_shard_bytes) {
  std::vector<NamedTensors> shards;
  int64_t shard_bytes = 0;
  int64_t total_bytes = 0;
  for (const auto& item : tensors) {
    const int64_t bytes = static_cast<int64_t>(item.second.nbytes());
    if (shards.empty() || (!shards.back().empty() && shard_bytes + bytes > max_shard_bytes)) {
      shards.emplace_back();
      shard_bytes = 0;
    }
    shards.back().push_back(item);
    shard_bytes += bytes;
    total_bytes += bytes;
  }
  const std::map<std::string, std::string> metadata = {{"format", "pt"}};
  if (shards.size() <= 1) return save_safetensors(dir / kWeightsFile, shards.empty() ? NamedTensors{} : shards[0], metadata);

  Json weight_map = Json::object();
  for (size_t i = 0; i < shards.size(); ++i) {
    const std::string name = shard_file_name(i + 1, shards.size());
    CARAVAN_RETURN_IF_ERROR(save_safetensors(dir / name, shards[i], metadata));
    for (const auto& item : shards[i]) weight_map[item.first] = name;
  }
  const Json index = {{"metadata", {{"total_size", total_bytes}}}, {"weight_map", weight_map}};
  return core::write_file_atomically(dir / kIndexFile, index.dump(2) + "\n");
}

Status copy_tokenizer_files(const std::filesystem::path& from, const std::filesystem::path& dir) {
  std::error_code error;
  if (!std::filesystem::is_directory(from, error)) {
    return Status::not_found(str_cat(from.string(), ": tokenizer source is not a directory"));
  }
  for (const char* name : kTokenizerFiles) {
    if (!std::filesystem::exists(from / name, error)) continue;
    auto text = core::read_file(from / name, "tokenizer file");
    if (!text.ok()) return Status::unavailable(text.status().message());
    CARAVAN_RETURN_IF_ERROR(core::write_file_atomically(dir / name, *text));
  }
  return Status::ok_status();
}

// config.json for `config`: config_json's keys, or, given the config.json the model was loaded
// from, that file unchanged but for the dtype a save may change. The base must describe the same
// model (a bug otherwise).
Result<Json> output_config_json(const core::TransformerConfig& config, at::ScalarType dtype,
                                const std::string& base_config_json) {
  if (base_config_json.empty()) return config_json(config, dtype);
  Json base = Json::parse(base_config_json, /*cb=*/nullptr, /*allow_exceptions=*/false);
  const Result<core::TransformerConfig> described = parse_config(base);
  CARAVAN_CHECK(described.ok() && shape_fields(*described) == shape_fields(config),
                "save_model: base_config_json does not describe the model it is saved with");
  // transformers 4 writes torch_dtype, transformers 5 dtype.
  for (const char* key : {"torch_dtype", "dtype"}) {
    if (base.contains(key)) base[key] = dtype_name(dtype);
  }
  if (!base.contains("torch_dtype") && !base.contains("dtype")) base["torch_dtype"] = dtype_name(dtype);
  return base;
}

// Writes every file of the model directory into the existing directory `dir`.
Status write_model_files(const std::filesystem::path& dir, Llama& model, const core::TransformerConfig& config,
                         const SaveModelOptions& options) {
  CARAVAN_RETURN_IF_ERROR(remove_old_weights(dir));
  NamedTensors tensors;
  for (const auto& item : model->named_parameters()) {
    tensors.emplace_back(item.key(), options.dtype ? item.value().to(*options.dtype) : item.value());
  }
  CARAVAN_RETURN_IF_ERROR(write_weights(dir, tensors, options.max_shard_bytes));
  if (!options.copy_tokenizer_from.empty()) CARAVAN_RETURN_IF_ERROR(copy_tokenizer_files(options.copy_tokenizer_from, dir));
  const at::ScalarType dtype = tensors.empty() ? at::kFloat : tensors.front().second.scalar_type();
  CARAVAN_ASSIGN_OR_RETURN(const Json json, output_config_json(config, dtype, options.base_config_json));
  return core::write_file_atomically(dir / kConfigFile, json.dump(2) + "\n");
}

// Where each tensor lives: one shard file per tensor, from the index or the single file.
struct WeightLayout {
  // The index path when sharded; empty for a single model.safetensors.
  std::filesystem::path index;
  // Shard file names in sorted order (one entry, model.safetensors, when not sharded).
  std::vector<std::string> files;
  // tensor name -> file name (empty when not sharded).
  std::unordered_map<std::string, std::string> file_of;
};

// Copies the tensor `name` of a weights file into the parameter of that name (converting dtype).
// kInvalidArgument naming the tensor when the model has no such parameter, the shapes differ or
// the tensor is not floating point. The caller holds a NoGradGuard.
Status copy_into_parameter(const std::string& name, const at::Tensor& source,
                           torch::OrderedDict<std::string, at::Tensor>& parameters) {
  const std::string where = str_cat("tensor '", name, "'");
  at::Tensor* target = parameters.find(name);
  if (target == nullptr) return Status::invalid_argument(str_cat(where, " is not a parameter of the model"));
  if (source.sizes() != target->sizes()) {
    return Status::invalid_argument(
        str_cat(where, ": shape ", source.sizes(), " does not match the model's ", target->sizes()));
  }
  if (!at::isFloatingType(source.scalar_type())) {
    return Status::invalid_argument(str_cat(where, ": dtype ", source.scalar_type(), " is not floating point"));
  }
  target->copy_(source);
  return Status::ok_status();
}

// kInvalidArgument naming `file` and the first parameter not in `loaded`.
Status require_every_parameter(const torch::OrderedDict<std::string, at::Tensor>& parameters,
                               const std::set<std::string>& loaded, const std::filesystem::path& file) {
  for (const auto& item : parameters) {
    if (loaded.count(item.key()) == 0) {
      return Status::invalid_argument(str_cat(file.string(), ": tensor '", item.key(), "': missing"));
    }
  }
  return Status::ok_status();
}

Result<WeightLayout> read_weight_layout(const std::filesystem::path& dir) {
  WeightLayout layout;
  const std::filesystem::path index_path = dir / kIndexFile;
  std::error_code error;
  if (!std::filesystem::exists(index_path, error)) {
    layout.files.push_back(kWeightsFile);
    return layout;
  }
  layout.index = index_path;
  CARAVAN_ASSIGN_OR_RETURN(std::string text, core::read_file(index_path, "weights index"));
  const Json json = Json::parse(text, /*cb=*/nullptr, /*allow_exceptions=*/false);
  if (json.is_discarded()) return Status::invalid_argument(str_cat(index_path.string(), ": invalid JSON"));
  const auto map = json.is_object() ? json.find("weight_map") : json.end();
  if (map == json.end() || !map->is_object()) {
    return Status::invalid_argument(str_cat(index_path.string(), ": missing object 'weight_map'"));
  }
  std::set<std::string> files;
  for (const auto& [tensor, file] : map->items()) {
    // A shard is a plain file name inside `dir`: no path separators, no "..".
    if (!file.is_string() || file.get<std::string>().empty() ||
        file.get<std::string>().find('/') != std::string::npos || file.get<std::string>() == "..") {
      return Status::invalid_argument(
          str_cat(index_path.string(), ": tensor '", tensor, "': shard must be a file name, got ", file.dump()));
    }
    layout.file_of.emplace(tensor, file.get<std::string>());
    files.insert(file.get<std::string>());
  }
  layout.files.assign(files.begin(), files.end());
  return layout;
}

// config.json text (read from `file`) through `parse`; errors are prefixed with the file's path.
Result<core::TransformerConfig> parse_config_text(std::string_view text, const std::filesystem::path& file,
                                                  Result<core::TransformerConfig> (*parse)(const Json&)) {
  const Json json = Json::parse(text, /*cb=*/nullptr, /*allow_exceptions=*/false);
  if (json.is_discarded()) return Status::invalid_argument(str_cat(file.string(), ": invalid JSON"));
  auto config = parse(json);
  if (!config.ok()) return config.status().with_context(file.string());
  return config;
}

// dir/config.json through `parse`.
Result<core::TransformerConfig> parse_config_file(const std::filesystem::path& dir,
                                                  Result<core::TransformerConfig> (*parse)(const Json&)) {
  CARAVAN_ASSIGN_OR_RETURN(const std::string text, core::read_file(dir / kConfigFile, "model config"));
  return parse_config_text(text, dir / kConfigFile, parse);
}

} // namespace

Status save_model(const std::filesystem::path& dir, Llama& model, const core::TransformerConfig& config,
                  const SaveModelOptions& options) {
  CARAVAN_CHECK(shape_fields(config) == shape_fields(model->config()),
                "save_model: config does not describe the model it is saved with");
  if (options.max_shard_bytes <= 0) {
    return Status::invalid_argument(str_cat("save_model: max_shard_bytes must be > 0, got ", options.max_shard_bytes));
  }
  std::error_code error;
  if (std::filesystem::exists(dir, error)) return write_model_files(dir, model, config, options);

  std::filesystem::path final_dir = dir.lexically_normal();
  if (final_dir.filename().empty()) final_dir = final_dir.parent_path();  // "out/" -> "out"
  const std::filesystem::path staging = final_dir.string() + ".staging";
  if (final_dir.has_parent_path()) std::filesystem::create_directories(final_dir.parent_path(), error);
  std::filesystem::remove_all(staging, error);  // leftovers of a crashed attempt
  std::filesystem::create_directories(staging, error);
  if (error) return Status::unavailable(str_cat(staging.string(), ": cannot create directory: ", error.message()));
  Status status = write_model_files(staging, model, config, options);
  if (status.ok()) status = core::publish_directory_atomically(staging, final_dir);
  if (!status.ok()) std::filesystem::remove_all(staging, error);
  return status;
}

Result<core::TransformerConfig> read_model_config(const std::filesystem::path& dir) {
  return parse_config_file(dir, parse_config);
}

Result<core::TransformerConfig> parse_model_config(std::string_view json_text, const std::filesystem::path& file) {
  return parse_config_text(json_text, file, parse_config);
}

Result<core::TransformerConfig> read_rope_config(const std::filesystem::path& dir) {
  return parse_config_file(dir, parse_rope_relevant_keys);
}

Status load_model_weights(const std::filesystem::path& dir, Llama& model) {
  CARAVAN_ASSIGN_OR_RETURN(WeightLayout layout, read_weight_layout(dir));
  const bool sharded = !layout.index.empty();
  auto parameters = model->named_parameters();
  std::set<std::string> loaded;

  at::NoGradGuard no_grad;
  for (const std::string& file : layout.files) {
    const std::filesystem::path path = dir / file;
    std::error_code error;
    if (sharded && !std::filesystem::exists(path, error)) {
      std::string example;
      for (const auto& [tensor, shard] : layout.file_of) {
        if (shard == file) example = tensor;
      }
      return Status::not_found(str_cat(path.string(), ": shard file missing (", layout.index.filename().string(),
                                       " maps tensor '", example, "' to it)"));
    }
    std::set<std::string> in_file;
    // Each tensor is copied straight from the file's mapping into its parameter (converting dtype).
    CARAVAN_RETURN_IF_ERROR(visit_safetensors(path, [&](const std::string& name, const at::Tensor& source) -> Status {
      const std::string where = str_cat("tensor '", name, "'");
      if (sharded) {
        const auto mapped = layout.file_of.find(name);
        if (mapped == layout.file_of.end() || mapped->second != file) {
          return Status::invalid_argument(str_cat(where, " is not mapped to this shard by ",
                                                  layout.index.filename().string()));
        }
      }
      in_file.insert(name);
      CARAVAN_RETURN_IF_ERROR(copy_into_parameter(name, source, parameters));
      loaded.insert(name);
      return Status::ok_status();
    }));
    for (const auto& [tensor, shard] : layout.file_of) {
      if (shard == file && in_file.count(tensor) == 0) {
        return Status::invalid_argument(str_cat(path.string(), ": tensor '", tensor, "' is missing from the shard (",
                                                layout.index.filename().string(), " maps it here)"));
      }
    }
  }
  return require_every_parameter(parameters, loaded, sharded ? layout.index : dir / kWeightsFile);
}

Status save_parameters_file(const std::filesystem::path& file, Llama& model) {
  NamedTensors tensors;
  for (const auto& item : model->named_parameters()) tensors.emplace_back(item.key(), item.value());
  return save_safetensors(file, tensors, {{"format", "pt"}});
}

Status load_parameters_file(const std::filesystem::path& file, Llama& model) {
  auto parameters = model->named_parameters();
  std::set<std::string> loaded;
  at::NoGradGuard no_grad;
  CARAVAN_RETURN_IF_ERROR(visit_safetensors(file, [&](const std::string& name, const at::Tensor& source) -> Status {
    CARAVAN_RETURN_IF_ERROR(copy_into_parameter(name, source, parameters));
    loaded.insert(name);
    return Status::ok_status();
  }));
  return require_every_parameter(parameters, loaded, file);
}

Result<std::vector<std::filesystem::path>> weight_files(const std::filesystem::path& dir) {
  CARAVAN_ASSIGN_OR_RETURN(const WeightLayout layout, read_weight_layout(dir));
  std::vector<std::filesystem::path> files;
  for (const std::string& file : layout.files) files.push_back(dir / file);
  std::error_code error;
  if (layout.index.empty() && !std::filesystem::exists(files.front(), error)) {
    return Status::not_found(str_cat(dir.string(), ": no weights (", kWeightsFile, " or ", kIndexFile, ")"));
  }
  return files;
}

Result<at::ScalarType> stored_dtype(const std::filesystem::path& dir) {
  CARAVAN_ASSIGN_OR_RETURN(const std::vector<std::filesystem::path> files, weight_files(dir));
  std::map<at::ScalarType, int64_t> parameters;
  for (const std::filesystem::path& file : files) {
    CARAVAN_ASSIGN_OR_RETURN(const std::vector<TensorInfo> tensors, read_safetensors_header(file));
    for (const TensorInfo& tensor : tensors) {
      if (at::isFloatingType(tensor.type)) parameters[tensor.type] += tensor.numel();
    }
  }
  if (parameters.empty()) return Status::invalid_argument(str_cat(dir.string(), ": no floating-point tensor in the weights"));
  return std::max_element(parameters.begin(), parameters.end(),
                          [](const auto& a, const auto& b) { return a.second < b.second; })
      ->first;
}

} // namespace caravan::model
