// File: core/toml_names.h
// Words for TOML value types in config error messages, shared by the TOML readers of core/
// (toml_fields.cpp, reward_config.cpp), e.g. "[grpo] clip_low: expected a float, got a string".
#pragma once

#include <toml++/toml.h>

namespace caravan::core {

// "a string", "an integer", "a table", ...
inline const char* toml_type_name(const toml::node& node) {
  switch (node.type()) {
    case toml::node_type::none: return "nothing";
    case toml::node_type::table: return "a table";
    case toml::node_type::array: return "an array";
    case toml::node_type::string: return "a string";
    case toml::node_type::integer: return "an integer";
    case toml::node_type::floating_point: return "a float";
    case toml::node_type::boolean: return "a boolean";
    case toml::node_type::date: return "a date";
    case toml::node_type::time: return "a time";
    case toml::node_type::date_time: return "a date-time";
  }
  return "an unknown type";
}

} // namespace caravan::core
