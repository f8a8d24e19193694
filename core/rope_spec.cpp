#include "core/rope_spec.h"

#include <algorithm>
#include <cmath>
#include <initializer_list>
#include <span>
#include <string>

namespace caravan::core {
namespace {

// Whether `type` reads the dict key `key` (transformers' required and optional keys of its
// validator, less rope_type, rope_theta and partial_rotary_factor, which every type reads).
bool type_reads(RopeScalingType type, std::string_view key) {
  static constexpr std::string_view kLinear[] = {"factor"};
  // transformers 4's validator lists original_max_position_embeddings for dynamic; nothing reads it.
  static constexpr std::string_view kDynamic[] = {"factor", "original_max_position_embeddings"};
  static constexpr std::string_view kYarn[] = {"factor",    "original_max_position_embeddings", "attention_factor",
                                               "beta_fast", "beta_slow",  "mscale", "mscale_all_dim", "truncate"};
  static constexpr std::string_view kLongrope[] = {"short_factor", "long_factor", "factor", "attention_factor",
                                                   "original_max_position_embeddings"};
  static constexpr std::string_view kLlama3[] = {"factor", "low_freq_factor", "high_freq_factor",
                                                 "original_max_position_embeddings"};
  const std::span<const std::string_view> keys = [&]() -> std::span<const std::string_view> {
    switch (type) {
      case RopeScalingType::kDefault: return {};
      case RopeScalingType::kLinear: return kLinear;
      case RopeScalingType::kDynamic: return kDynamic;
      case RopeScalingType::kYarn: return kYarn;
      case RopeScalingType::kLongrope: return kLongrope;
      case RopeScalingType::kLlama3: return kLlama3;
    }
    return {};
  }();
  return std::find(keys.begin(), keys.end(), key) != keys.end();
}

// Error helper: every message names the key it is about.
class Keys {
 public:
  Keys(const RopeScaling& scaling, std::string_view dict_prefix) : scaling_(scaling), prefix_(dict_prefix) {}

  std::string dict(std::string_view name) const { return str_cat(prefix_, name); }

  Status error(std::string_view key, std::string_view message) const {
    return Status::invalid_argument(str_cat("key '", key, "': ", message));
  }
  Status missing(std::string_view name) const {
    return error(dict(name), str_cat("required for rope_type \"", enum_name(scaling_.type), "\""));
  }
  // Fails when the dict key `name` is set but the type does not read it.
  Status check_read(std::string_view name, bool set) const {
    if (!set || type_reads(scaling_.type, name)) return Status::ok_status();
    return error(dict(name), str_cat("not read by rope_type \"", enum_name(scaling_.type), "\""));
  }
  Status check_positive(std::string_view name, const std::optional<double>& value) const {
    if (!value || *value > 0.0) return Status::ok_status();
    return error(dict(name), str_cat("expected a positive number, got ", *value));
  }
  Status check_finite(std::string_view name, const std::optional<double>& value) const {
    if (!value || std::isfinite(*value)) return Status::ok_status();
    return error(dict(name), str_cat("expected a finite number, got ", *value));
  }

 private:
  const RopeScaling& scaling_;
  std::string_view prefix_;
};

// Every dict key is read by its type, and numbers are in range.
Status check_keys(const RopeScaling& s, const Keys& keys) {
  const std::initializer_list<std::pair<std::string_view, bool>> set = {
      {"factor", s.factor.has_value()},
      {"low_freq_factor", s.low_freq_factor.has_value()},
      {"high_freq_factor", s.high_freq_factor.has_value()},
      {"original_max_position_embeddings", s.original_max_position_embeddings.has_value()},
      {"attention_factor", s.attention_factor.has_value()},
      {"beta_fast", s.beta_fast.has_value()},
      {"beta_slow", s.beta_slow.has_value()},
      {"mscale", s.mscale.has_value()},
      {"mscale_all_dim", s.mscale_all_dim.has_value()},
      {"truncate", s.truncate.has_value()},
      {"short_factor", !s.short_factor.empty()},
      {"long_factor", !s.long_factor.empty()}};
  for (const auto& [name, is_set] : set) CARAVAN_RETURN_IF_ERROR(keys.check_read(name, is_set));
  for (const auto& [name, value] : {std::pair{"factor", s.factor}, std::pair{"low_freq_factor", s.low_freq_factor},
                                    std::pair{"high_freq_factor", s.high_freq_factor},
                                    std::pair{"attention_factor", s.attention_factor},
                                    std::pair{"beta_fast", s.beta_fast}, std::pair{"beta_slow", s.beta_slow}}) {
    CARAVAN_RETURN_IF_ERROR(keys.check_positive(name, value));
  }
  CARAVAN_RETURN_IF_ERROR(keys.check_finite("mscale", s.mscale));
  CARAVAN_RETURN_IF_ERROR(keys.check_finite("mscale_all_dim", s.mscale_all_dim));
  if (s.original_max_position_embeddings && *s.original_max_position_embeddings <= 0) {
    return keys.error(keys.dict("original_max_position_embeddings"),
                      str_cat("expected a positive integer, got ", *s.original_max_position_embeddings));
  }
  return Status::ok_status();
}

// int(head_dim * partial_rotary_factor), with the factor in effect for the layout.
Result<int64_t> rotary_dim(const TransformerConfig& config, const Keys& keys) {
  const RopeScaling& s = config.rope_scaling;
  std::string key = "partial_rotary_factor";
  std::optional<double> factor = config.partial_rotary_factor;
  switch (s.layout) {
    case RopeLayout::kRopeScaling:
      if (s.partial_rotary_factor) {
        return keys.error(keys.dict("partial_rotary_factor"),
                          "transformers 4 reads partial_rotary_factor at the top level of config.json only");
      }
      break;
    case RopeLayout::kRopeParameters:
      if (!factor && s.partial_rotary_factor) {
        key = keys.dict("partial_rotary_factor");
        factor = s.partial_rotary_factor;
      }
      break;
  }
  const double fraction = factor.value_or(1.0);
  if (!(fraction > 0.0 && fraction <= 1.0)) {
    return keys.error(key, str_cat("expected 0 < x <= 1, got ", fraction));
  }
  const int64_t head_dim = config.head_dim();
  const auto dim = static_cast<int64_t>(static_cast<double>(head_dim) * fraction);  // Python's int()
  const int64_t least = s.type == RopeScalingType::kDynamic ? 4 : 2;  // dynamic divides by dim - 2
  if (dim % 2 != 0 || dim < least) {
    return keys.error(factor ? key : std::string("head_dim"),
                      str_cat("head_dim ", head_dim, " * partial_rotary_factor ", fraction, " gives ", dim,
                              " rotary dims; rope_type \"", enum_name(s.type), "\" needs an even number >= ", least));
  }
  return dim;
}

// The pre-training context of llama3, yarn and longrope in transformers 5: the top-level key,
// else the dict's, else max_position_embeddings (standardize_rope_params).
int64_t original_context_v5(const TransformerConfig& config) {
  return config.original_max_position_embeddings.value_or(
      config.rope_scaling.original_max_position_embeddings.value_or(config.max_position_embeddings));
}

// YaRN's get_mscale.
double yarn_mscale(double scale, double mscale) { return scale <= 1.0 ? 1.0 : 0.1 * mscale * std::log(scale) + 1.0; }

Status resolve_yarn(const TransformerConfig& config, const Keys& keys, RopeSpec& spec) {
  const RopeScaling& s = config.rope_scaling;
  if (!s.factor) return keys.missing("factor");
  spec.factor = *s.factor;
  switch (s.layout) {
    case RopeLayout::kRopeScaling:
      spec.original_max_position_embeddings = s.original_max_position_embeddings.value_or(config.max_position_embeddings);
      break;
    case RopeLayout::kRopeParameters: spec.original_max_position_embeddings = original_context_v5(config); break;
  }
  // `if mscale and mscale_all_dim`: both given and non-zero.
  const bool both_mscales = s.mscale.value_or(0.0) != 0.0 && s.mscale_all_dim.value_or(0.0) != 0.0;
  spec.attention_factor = s.attention_factor.value_or(
      both_mscales ? yarn_mscale(spec.factor, *s.mscale) / yarn_mscale(spec.factor, *s.mscale_all_dim)
                   : yarn_mscale(spec.factor, 1.0));
  spec.beta_fast = s.beta_fast.value_or(32.0);
  spec.beta_slow = s.beta_slow.value_or(1.0);
  spec.truncate = s.truncate.value_or(true);
  return Status::ok_status();
}

Status resolve_longrope(const TransformerConfig& config, const Keys& keys, RopeSpec& spec) {
  const RopeScaling& s = config.rope_scaling;
  if (s.short_factor.empty()) return keys.missing("short_factor");
  if (s.long_factor.empty()) return keys.missing("long_factor");
  for (const auto& [name, list] : {std::pair{"short_factor", &s.short_factor}, std::pair{"long_factor", &s.long_factor}}) {
    if (static_cast<int64_t>(list->size()) != spec.rotary_dim / 2) {
      return keys.error(keys.dict(name), str_cat("expected rotary_dim / 2 = ", spec.rotary_dim / 2, " numbers, got ",
                                                 list->size()));
    }
    for (double value : *list) {
      if (!(value > 0.0)) return keys.error(keys.dict(name), str_cat("expected positive numbers, got ", value));
    }
  }
  spec.short_factor = s.short_factor;
  spec.long_factor = s.long_factor;
  std::optional<double> factor = s.factor;
  switch (s.layout) {
    case RopeLayout::kRopeScaling:
      // Only the top-level key counts; when given, the factor is the context ratio.
      spec.original_max_position_embeddings = config.original_max_position_embeddings.value_or(config.max_position_embeddings);
      if (config.original_max_position_embeddings) {
        factor = static_cast<double>(config.max_position_embeddings) /
                 static_cast<double>(*config.original_max_position_embeddings);
      }
      if (!factor && !s.attention_factor) {
        return keys.error(keys.dict("factor"),
                          "required for rope_type \"longrope\" without attention_factor or a top-level "
                          "original_max_position_embeddings (transformers 4 derives the attention factor from it)");
      }
      break;
    case RopeLayout::kRopeParameters:
      spec.original_max_position_embeddings = original_context_v5(config);
      if (!factor) {
        factor = static_cast<double>(config.max_position_embeddings) /
                 static_cast<double>(spec.original_max_position_embeddings);
      }
      break;
  }
  spec.factor = factor.value_or(1.0);  // unread when attention_factor is given
  spec.attention_factor = s.attention_factor.value_or(
      spec.factor <= 1.0 ? 1.0
                         : std::sqrt(1.0 + std::log(spec.factor) /
                                               std::log(static_cast<double>(spec.original_max_position_embeddings))));
  return Status::ok_status();
}

Status resolve_llama3(const TransformerConfig& config, const Keys& keys, RopeSpec& spec) {
  const RopeScaling& s = config.rope_scaling;
  if (!s.factor) return keys.missing("factor");
  if (!s.low_freq_factor) return keys.missing("low_freq_factor");
  if (!s.high_freq_factor) return keys.missing("high_freq_factor");
  if (*s.high_freq_factor <= *s.low_freq_factor) {
    return keys.error(keys.dict("high_freq_factor"),
                      str_cat("must exceed low_freq_factor (", *s.low_freq_factor, "), got ", *s.high_freq_factor));
  }
  switch (s.layout) {
    case RopeLayout::kRopeScaling:
      if (!s.original_max_position_embeddings) return keys.missing("original_max_position_embeddings");
      spec.original_max_position_embeddings = *s.original_max_position_embeddings;
      break;
    case RopeLayout::kRopeParameters: spec.original_max_position_embeddings = original_context_v5(config); break;
  }
  spec.factor = *s.factor;
  spec.low_freq_factor = *s.low_freq_factor;
  spec.high_freq_factor = *s.high_freq_factor;
  return Status::ok_status();
}

} // namespace

Result<RopeSpec> resolve_rope(const TransformerConfig& config, std::string_view dict_key_prefix) {
  const RopeScaling& s = config.rope_scaling;
  const Keys keys(s, dict_key_prefix);
  CARAVAN_RETURN_IF_ERROR(check_keys(s, keys));
  if (config.original_max_position_embeddings && *config.original_max_position_embeddings <= 0) {
    return keys.error("original_max_position_embeddings",
                      str_cat("expected a positive integer, got ", *config.original_max_position_embeddings));
  }
  RopeSpec spec;
  spec.type = s.type;
  spec.theta = config.rope_theta;
  spec.max_position_embeddings = config.max_position_embeddings;
  CARAVAN_ASSIGN_OR_RETURN(spec.rotary_dim, rotary_dim(config, keys));
  switch (s.type) {
    case RopeScalingType::kDefault: break;
    case RopeScalingType::kLinear:
    case RopeScalingType::kDynamic:
      if (!s.factor) return keys.missing("factor");
      spec.factor = *s.factor;
      break;
    case RopeScalingType::kYarn: CARAVAN_RETURN_IF_ERROR(resolve_yarn(config, keys, spec)); break;
    case RopeScalingType::kLongrope: CARAVAN_RETURN_IF_ERROR(resolve_longrope(config, keys, spec)); break;
    case RopeScalingType::kLlama3: CARAVAN_RETURN_IF_ERROR(resolve_llama3(config, keys, spec)); break;
  }
  return spec;
}

Result<RopeSpec> resolve_rope(const TransformerConfig& config) {
  return resolve_rope(config, str_cat(rope_dict_key(config.rope_scaling.layout), "."));
}

} // namespace caravan::core
