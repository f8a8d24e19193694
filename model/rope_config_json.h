// File: model/rope_config_json.h
// config.json's RoPE keys in both transformers layouts (core::RopeLayout): read into a
// core::TransformerConfig as the file states them, and written back in the layout and with the
// keys they came in, so a checkpoint loaded and saved again keeps its RoPE keys.
//   transformers 4: "rope_theta": 1000000.0, "rope_scaling": {"rope_type": "yarn", "factor": 4.0, ...}
//   transformers 5: "rope_parameters": {"rope_type": "yarn", "rope_theta": 1000000.0, "factor": 4.0, ...}
// plus the top-level "partial_rotary_factor" and "original_max_position_embeddings" in either.
// Checking the keys against each other (required keys per rope_type, ...) is
// core::resolve_rope's job.
//
//   CARAVAN_RETURN_IF_ERROR(model::read_rope_keys(json, config));  // json: the config.json object
//   CARAVAN_ASSIGN_OR_RETURN(core::RopeSpec spec, core::resolve_rope(config));
//   model::write_rope_keys(config, json);
#pragma once

#include <array>
#include <string_view>

#include <nlohmann/json.hpp>

#include "core/status.h"
#include "core/transformer_config.h"

namespace caravan::model {

// The top-level config.json keys read_rope_keys reads and write_rope_keys writes.
inline constexpr std::array<std::string_view, 5> kRopeConfigKeys = {
    "rope_theta", "rope_scaling", "rope_parameters", "partial_rotary_factor", "original_max_position_embeddings"};

// Reads the RoPE keys of the config.json object `json` into config.rope_theta (default 10000),
// config.rope_scaling (layout: rope_parameters when present and not null, else rope_scaling),
// config.partial_rotary_factor and config.original_max_position_embeddings; absent or null keys
// stay nullopt (a null "truncate" is an error: transformers reads it as false, not as absent). The type comes from "rope_type" or the older "type" (both must agree); a
// rope_scaling dict without either is an error, a rope_parameters dict without either is
// "default" (as transformers 5 reads it). Errors, kInvalidArgument naming the key (e.g.
// "key 'rope_scaling.factor': expected a number, got \"4\""): an ill-typed value, an unknown
// rope_type, a key no rope_type reads, rope_theta inside rope_scaling (transformers 4 reads it
// at the top level only), or both rope_scaling and rope_parameters given.
Status read_rope_keys(const nlohmann::json& json, core::TransformerConfig& config);

// The rope_scaling / rope_parameters dict of `scaling` without rope_theta: "rope_type" (and
// "type" when the input had it) and every key that is set; null for the default type with no
// keys.
nlohmann::json rope_scaling_json(const core::RopeScaling& scaling);

// Replaces the kRopeConfigKeys of the config.json object `json` with config's, in
// config.rope_scaling.layout: transformers 4 writes "rope_theta" and "rope_scaling" (null for
// plain RoPE); transformers 5 writes "rope_parameters" with rope_theta inside. The top-level
// partial_rotary_factor and original_max_position_embeddings are written when set.
void write_rope_keys(const core::TransformerConfig& config, nlohmann::json& json);

} // namespace caravan::model
