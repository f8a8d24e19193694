// File: core/rope_scaling.h
// The RoPE scaling settings of a Hugging Face config.json, as the file states them: the
// rope_type and the keys of transformers 4's "rope_scaling" dict or transformers 5's
// "rope_parameters" dict. Plain data with no defaults filled in: a key the file leaves out is
// nullopt (or an empty list), so a checkpoint saved again keeps exactly the keys it was loaded
// with (model/rope_config_json.h reads and writes them). core/rope_spec.h applies transformers'
// defaults and fallbacks to turn these keys into the numbers RoPE is computed from.
//
//   core::RopeScaling yarn{.type = core::RopeScalingType::kYarn, .factor = 4.0,
//                          .original_max_position_embeddings = 32768};
//   config.rope_scaling = yarn;   // Qwen2.5 / Qwen3 long-context RoPE
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

namespace caravan::core {

// transformers' rope_type (the keys of its ROPE_INIT_FUNCTIONS).
enum class RopeScalingType {
  // Plain RoPE: inv_freq[i] = theta^(-2i / rotary_dim).
  kDefault,
  // Position interpolation: inv_freq / factor.
  kLinear,
  // Dynamic NTK: theta grows with the current sequence length once it exceeds
  // max_position_embeddings.
  kDynamic,
  // YaRN: per-frequency blend of interpolation and extrapolation, plus an attention factor.
  kYarn,
  // LongRoPE (Phi-3 style): per-frequency rescale factors, short or long by sequence length,
  // plus an attention factor.
  kLongrope,
  // Llama 3.1 / 3.2 frequency-band scaling.
  kLlama3,
};
inline constexpr std::array<RopeScalingType, 6> kAllRopeScalingTypes = {
    RopeScalingType::kDefault, RopeScalingType::kLinear,   RopeScalingType::kDynamic,
    RopeScalingType::kYarn,    RopeScalingType::kLongrope, RopeScalingType::kLlama3};

// Where config.json keeps the RoPE settings. transformers 4 and 5 resolve a few corner cases
// differently (core/rope_spec.h lists them); a file is read by the rules of the version whose
// layout it uses.
enum class RopeLayout {
  // transformers 4: top-level "rope_theta", "rope_scaling" (null or a dict with "rope_type" or
  // the older "type") and top-level "partial_rotary_factor".
  kRopeScaling,
  // transformers 5: "rope_parameters" {"rope_type", "rope_theta", "partial_rotary_factor", ...}.
  kRopeParameters,
};

// The keys of the rope_scaling / rope_parameters dict, nullopt (empty) where absent or null.
// Which keys a type reads (and requires) is core/rope_spec.h's business; this struct carries
// whatever the file said.
struct RopeScaling {
  RopeScalingType type = RopeScalingType::kDefault;
  // "factor": linear, dynamic, yarn, llama3 (required); longrope (optional).
  std::optional<double> factor;
  // "low_freq_factor", "high_freq_factor": llama3 (required).
  std::optional<double> low_freq_factor;
  std::optional<double> high_freq_factor;
  // "original_max_position_embeddings": the pre-training context length (yarn, longrope,
  // llama3; accepted and unused for dynamic).
  std::optional<int64_t> original_max_position_embeddings;
  // "attention_factor": the factor cos and sin are multiplied by (yarn, longrope).
  std::optional<double> attention_factor;
  // "beta_fast", "beta_slow", "mscale", "mscale_all_dim", "truncate": yarn.
  std::optional<double> beta_fast;
  std::optional<double> beta_slow;
  std::optional<double> mscale;
  std::optional<double> mscale_all_dim;
  std::optional<bool> truncate;
  // "short_factor", "long_factor": longrope (required, rotary_dim / 2 numbers each).
  std::vector<double> short_factor;
  std::vector<double> long_factor;
  // "partial_rotary_factor" inside rope_parameters (transformers 5 layout only; the top-level
  // key is TransformerConfig::partial_rotary_factor).
  std::optional<double> partial_rotary_factor;
  RopeLayout layout = RopeLayout::kRopeScaling;
  // The file named the type with the older "type" key (transformers 4 layout); it is written
  // back beside "rope_type", as transformers itself saves such a config.
  bool legacy_type_key = false;
};

// transformers' rope_type: "default", "linear", "dynamic", "yarn", "longrope", "llama3".
constexpr std::string_view enum_name(RopeScalingType type) {
  switch (type) {
    case RopeScalingType::kDefault: return "default";
    case RopeScalingType::kLinear: return "linear";
    case RopeScalingType::kDynamic: return "dynamic";
    case RopeScalingType::kYarn: return "yarn";
    case RopeScalingType::kLongrope: return "longrope";
    case RopeScalingType::kLlama3: return "llama3";
  }
  return "unknown";
}

// Inverse of enum_name; nullopt for an unknown name.
inline std::optional<RopeScalingType> parse_rope_scaling_type(std::string_view name) {
  for (RopeScalingType type : kAllRopeScalingTypes) {
    if (enum_name(type) == name) return type;
  }
  return std::nullopt;
}

// The config.json key holding the dict: "rope_scaling" or "rope_parameters".
constexpr std::string_view rope_dict_key(RopeLayout layout) {
  switch (layout) {
    case RopeLayout::kRopeScaling: return "rope_scaling";
    case RopeLayout::kRopeParameters: return "rope_parameters";
  }
  return "rope_scaling";
}

} // namespace caravan::core
