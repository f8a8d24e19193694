// File: core/rope_spec.h
// transformers' rules for turning a config's RoPE keys (core/rope_scaling.h) into the numbers
// the rotary embedding is computed from: which keys each rope_type requires or accepts, and
// the defaults and fallbacks of modeling_rope_utils.py (_compute_*_parameters,
// standardize_rope_params). Torch-free; model/rope.h does the tensor math from a RopeSpec.
//
//   CARAVAN_ASSIGN_OR_RETURN(core::RopeSpec spec, core::resolve_rope(config));
//   // spec.rotary_dim, spec.factor, spec.attention_factor, ...
//
// The two layouts of core::RopeLayout are read by the rules of their transformers version
// (4.57 for rope_scaling, 5.x for rope_parameters). They differ only here:
//  - partial_rotary_factor: transformers 4 reads the top-level key only (one inside rope_scaling
//    is rejected); transformers 5 reads the top-level key, else the one in rope_parameters.
//  - original_max_position_embeddings: transformers 4's yarn reads the dict's key (falling back
//    to max_position_embeddings), llama3 requires the dict's key, and longrope reads only the
//    top-level key (falling back to max_position_embeddings) and, when it is given, replaces
//    factor by max_position_embeddings / it. transformers 5 takes the top-level key, else the
//    dict's, else max_position_embeddings, for all three; longrope falls back to
//    factor = max_position_embeddings / original only when factor is absent.
// Where transformers only warns (a key the type does not read, a longrope list of the wrong
// length, high_freq_factor <= low_freq_factor) this is an error, so a config is never silently
// read differently from what it says; so are non-positive factors, which make transformers'
// frequencies infinite or NaN. A factor below 1, which transformers warns about but computes
// with, is accepted.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "core/rope_scaling.h"
#include "core/status.h"
#include "core/transformer_config.h"

namespace caravan::core {

// What the rotary embedding of a config is computed from, every default applied. A copyable
// value.
struct RopeSpec {
  RopeScalingType type = RopeScalingType::kDefault;
  // The first rotary_dim dims of each head rotate, the rest pass through:
  // int(head_dim * partial_rotary_factor), even and >= 2 (> 2 for dynamic).
  int64_t rotary_dim = 0;
  // Base frequency.
  double theta = 10000.0;
  // The scaling factor (linear, dynamic, yarn, longrope, llama3); 1 for default.
  double factor = 1.0;
  // The config's max_position_embeddings: dynamic keeps its construction frequencies up to this
  // length.
  int64_t max_position_embeddings = 0;
  // The pre-training context: yarn's correction range, longrope's switch from short to long
  // factors (a sequence longer than this uses long_factor) and llama3's frequency bands.
  int64_t original_max_position_embeddings = 0;
  // Multiplies cos and sin: yarn's and longrope's (default or stated) factor, 1 for the others.
  double attention_factor = 1.0;
  // yarn: rotation counts bounding the interpolation ramp, and whether its ends are rounded
  // outwards to whole dims.
  double beta_fast = 32.0;
  double beta_slow = 1.0;
  bool truncate = true;
  // llama3: wavelength band limits (original / low_freq_factor, original / high_freq_factor).
  double low_freq_factor = 1.0;
  double high_freq_factor = 4.0;
  // longrope: per-frequency divisors, rotary_dim / 2 each.
  std::vector<double> short_factor;
  std::vector<double> long_factor;
};

// Resolves config's rope_scaling, partial_rotary_factor and top-level
// original_max_position_embeddings against head_dim(), rope_theta and max_position_embeddings.
// Errors are kInvalidArgument naming the key: dict keys as `dict_key_prefix` + name (e.g.
// "rope_scaling.factor", or "rope_scaling_factor" for config.toml), top-level keys by name: a
// required key missing, a key the type does not read, a non-positive number, a longrope list not
// of rotary_dim / 2 numbers, high_freq_factor <= low_freq_factor, a partial_rotary_factor
// outside (0, 1] or giving an odd (or too small) rotary_dim.
Result<RopeSpec> resolve_rope(const TransformerConfig& config, std::string_view dict_key_prefix);
// The same, naming dict keys as config.json spells them ("rope_scaling.factor",
// "rope_parameters.factor", by config.rope_scaling.layout).
Result<RopeSpec> resolve_rope(const TransformerConfig& config);

} // namespace caravan::core
