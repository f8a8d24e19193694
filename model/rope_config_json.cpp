#include "model/rope_config_json.h"

#include <optional>
#include <string>
#include <vector>

namespace caravan::model {
namespace {

using Json = nlohmann::json;

Status ill_typed(std::string_view key, std::string_view expected, const Json& value) {
  return Status::invalid_argument(str_cat("key '", key, "': expected ", expected, ", got ", value.dump()));
}

// `object[key]`, or nullptr when absent or null (transformers' dict.get treats both alike).
const Json* find_value(const Json& object, std::string_view key) {
  const auto it = object.find(key);
  return it == object.end() || it->is_null() ? nullptr : &*it;
}

Status read_number(const Json& value, std::string_view key, std::optional<double>& out) {
  if (!value.is_number()) return ill_typed(key, "a number", value);
  out = value.get<double>();
  return Status::ok_status();
}

Status read_positive_number(const Json& value, std::string_view key, double& out) {
  if (!value.is_number() || value.get<double>() <= 0.0) return ill_typed(key, "a positive number", value);
  out = value.get<double>();
  return Status::ok_status();
}

Status read_positive_integer(const Json& value, std::string_view key, std::optional<int64_t>& out) {
  if (!value.is_number_integer() || value.get<int64_t>() <= 0) return ill_typed(key, "a positive integer", value);
  out = value.get<int64_t>();
  return Status::ok_status();
}

Status read_bool(const Json& value, std::string_view key, std::optional<bool>& out) {
  if (!value.is_boolean()) return ill_typed(key, "true or false", value);
  out = value.get<bool>();
  return Status::ok_status();
}

Status read_numbers(const Json& value, std::string_view key, std::vector<double>& out) {
  if (!value.is_array()) return ill_typed(key, "a list of numbers", value);
  out.clear();
  for (const Json& item : value) {
    if (!item.is_number()) return ill_typed(key, "a list of numbers", value);
    out.push_back(item.get<double>());
  }
  return Status::ok_status();
}

// The rope_type of `dict`, from "rope_type" or the older "type".
Result<core::RopeScalingType> read_type(const Json& dict, core::RopeLayout layout, const std::string& prefix) {
  const Json* rope_type = find_value(dict, "rope_type");
  const Json* type = find_value(dict, "type");
  if (rope_type && type && *rope_type != *type) {
    return Status::invalid_argument(str_cat("key '", prefix, "type': ", type->dump(), " disagrees with ", prefix,
                                            "rope_type ", rope_type->dump()));
  }
  const Json* name = rope_type ? rope_type : type;
  const std::string key = str_cat(prefix, rope_type ? "rope_type" : "type");
  if (name == nullptr) {
    switch (layout) {
      case core::RopeLayout::kRopeScaling:
        return Status::invalid_argument(str_cat("key '", prefix, "rope_type': missing (neither \"rope_type\" nor \"type\" is given)"));
      case core::RopeLayout::kRopeParameters: return core::RopeScalingType::kDefault;
    }
  }
  const std::optional<core::RopeScalingType> parsed =
      name->is_string() ? core::parse_rope_scaling_type(name->get<std::string>()) : std::nullopt;
  if (!parsed) {
    std::string supported;
    for (core::RopeScalingType t : core::kAllRopeScalingTypes) {
      supported += str_cat(supported.empty() ? "" : ", ", "\"", core::enum_name(t), "\"");
    }
    return Status::invalid_argument(
        str_cat("key '", key, "': rope type ", name->dump(), " is not supported (supported: ", supported, ")"));
  }
  return *parsed;
}

// The rope_scaling / rope_parameters dict into config.rope_scaling (and config.rope_theta for a
// rope_theta inside rope_parameters).
Status read_dict(const Json& dict, core::RopeLayout layout, core::TransformerConfig& config) {
  const std::string prefix = str_cat(core::rope_dict_key(layout), ".");
  if (!dict.is_object()) return ill_typed(core::rope_dict_key(layout), "an object or null", dict);
  core::RopeScaling& s = config.rope_scaling;
  s = core::RopeScaling{};
  s.layout = layout;
  s.legacy_type_key = find_value(dict, "type") != nullptr;
  CARAVAN_ASSIGN_OR_RETURN(s.type, read_type(dict, layout, prefix));
  for (const auto& [name, value] : dict.items()) {
    const std::string key = prefix + name;
    // transformers' get("truncate", True) gives None for a null truncate, which turns truncation
    // off, whereas an absent key leaves it on; every other null reads as absent.
    if (name == "truncate" && value.is_null()) return ill_typed(key, "true or false", value);
    if (value.is_null() || name == "rope_type" || name == "type") continue;
    if (name == "factor") {
      CARAVAN_RETURN_IF_ERROR(read_number(value, key, s.factor));
    } else if (name == "low_freq_factor") {
      CARAVAN_RETURN_IF_ERROR(read_number(value, key, s.low_freq_factor));
    } else if (name == "high_freq_factor") {
      CARAVAN_RETURN_IF_ERROR(read_number(value, key, s.high_freq_factor));
    } else if (name == "original_max_position_embeddings") {
      CARAVAN_RETURN_IF_ERROR(read_positive_integer(value, key, s.original_max_position_embeddings));
    } else if (name == "attention_factor") {
      CARAVAN_RETURN_IF_ERROR(read_number(value, key, s.attention_factor));
    } else if (name == "beta_fast") {
      CARAVAN_RETURN_IF_ERROR(read_number(value, key, s.beta_fast));
    } else if (name == "beta_slow") {
      CARAVAN_RETURN_IF_ERROR(read_number(value, key, s.beta_slow));
    } else if (name == "mscale") {
      CARAVAN_RETURN_IF_ERROR(read_number(value, key, s.mscale));
    } else if (name == "mscale_all_dim") {
      CARAVAN_RETURN_IF_ERROR(read_number(value, key, s.mscale_all_dim));
    } else if (name == "truncate") {
      CARAVAN_RETURN_IF_ERROR(read_bool(value, key, s.truncate));
    } else if (name == "short_factor") {
      CARAVAN_RETURN_IF_ERROR(read_numbers(value, key, s.short_factor));
    } else if (name == "long_factor") {
      CARAVAN_RETURN_IF_ERROR(read_numbers(value, key, s.long_factor));
    } else if (name == "partial_rotary_factor") {
      CARAVAN_RETURN_IF_ERROR(read_number(value, key, s.partial_rotary_factor));
    } else if (name == "rope_theta" && layout == core::RopeLayout::kRopeParameters) {
      CARAVAN_RETURN_IF_ERROR(read_positive_number(value, key, config.rope_theta));
    } else if (name == "rope_theta") {
      return Status::invalid_argument(
          str_cat("key '", key, "': transformers 4 reads rope_theta at the top level of config.json only"));
    } else {
      return Status::invalid_argument(str_cat("key '", key, "': not a RoPE key transformers reads"));
    }
  }
  return Status::ok_status();
}

} // namespace

Status read_rope_keys(const Json& json, core::TransformerConfig& config) {
  config.rope_theta = 10000.0;
  if (const Json* theta = find_value(json, "rope_theta")) {
    CARAVAN_RETURN_IF_ERROR(read_positive_number(*theta, "rope_theta", config.rope_theta));
  }
  config.partial_rotary_factor.reset();
  if (const Json* partial = find_value(json, "partial_rotary_factor")) {
    CARAVAN_RETURN_IF_ERROR(read_number(*partial, "partial_rotary_factor", config.partial_rotary_factor));
  }
  config.original_max_position_embeddings.reset();
  if (const Json* original = find_value(json, "original_max_position_embeddings")) {
    CARAVAN_RETURN_IF_ERROR(
        read_positive_integer(*original, "original_max_position_embeddings", config.original_max_position_embeddings));
  }
  const Json* scaling = find_value(json, "rope_scaling");
  const Json* parameters = find_value(json, "rope_parameters");
  if (scaling && parameters) {
    return Status::invalid_argument(
        "key 'rope_parameters': give either rope_scaling (transformers 4) or rope_parameters (transformers 5), not both");
  }
  if (parameters) return read_dict(*parameters, core::RopeLayout::kRopeParameters, config);
  if (scaling) return read_dict(*scaling, core::RopeLayout::kRopeScaling, config);
  config.rope_scaling = core::RopeScaling{};
  return Status::ok_status();
}

Json rope_scaling_json(const core::RopeScaling& s) {
  Json dict = Json::object();
  auto put = [&](const char* key, const auto& value) {
    if (value) dict[key] = *value;
  };
  put("factor", s.factor);
  put("low_freq_factor", s.low_freq_factor);
  put("high_freq_factor", s.high_freq_factor);
  put("original_max_position_embeddings", s.original_max_position_embeddings);
  put("attention_factor", s.attention_factor);
  put("beta_fast", s.beta_fast);
  put("beta_slow", s.beta_slow);
  put("mscale", s.mscale);
  put("mscale_all_dim", s.mscale_all_dim);
  put("truncate", s.truncate);
  if (!s.short_factor.empty()) dict["short_factor"] = s.short_factor;
  if (!s.long_factor.empty()) dict["long_factor"] = s.long_factor;
  put("partial_rotary_factor", s.partial_rotary_factor);
  if (s.type == core::RopeScalingType::kDefault && dict.empty() && !s.legacy_type_key) return nullptr;
  dict["rope_type"] = std::string(core::enum_name(s.type));
  if (s.legacy_type_key) dict["type"] = std::string(core::enum_name(s.type));
  return dict;
}

void write_rope_keys(const core::TransformerConfig& config, Json& json) {
  for (std::string_view key : kRopeConfigKeys) json.erase(std::string(key));
  const core::RopeScaling& s = config.rope_scaling;
  switch (s.layout) {
    case core::RopeLayout::kRopeScaling:
      json["rope_theta"] = config.rope_theta;
      json["rope_scaling"] = rope_scaling_json(s);
      break;
    case core::RopeLayout::kRopeParameters: {
      Json parameters = rope_scaling_json(s);
      if (parameters.is_null()) parameters = {{"rope_type", std::string(core::enum_name(s.type))}};
      parameters["rope_theta"] = config.rope_theta;
      json["rope_parameters"] = std::move(parameters);
      break;
    }
  }
  if (config.partial_rotary_factor) json["partial_rotary_factor"] = *config.partial_rotary_factor;
  if (config.original_max_position_embeddings) {
    json["original_max_position_embeddings"] = *config.original_max_position_embeddings;
  }
}

} // namespace caravan::model
