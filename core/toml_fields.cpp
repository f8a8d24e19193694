#include "core/toml_fields.h"

#include <cmath>
#include <sstream>

#include "core/str_cat.h"
#include "core/toml_names.h"

namespace caravan::core {

Result<toml::table> parse_toml(std::string_view toml_text, const std::string& source_name) {
  try {
    return toml::parse(toml_text, source_name);
  } catch (const toml::parse_error& error) {
    const auto& begin = error.source().begin;
    return Status::invalid_argument(str_cat(source_name, ":", begin.line, ":", begin.column, ": ",
                                            error.description()));
  }
}
namespace {

std::string describe_range(const Rule& rule) {
  std::string text;
  if (rule.min) text += str_cat(*rule.min, rule.min_exclusive ? " < " : " <= ");
  text += "x";
  if (rule.max) text += str_cat(rule.max_exclusive ? " < " : " <= ", *rule.max);
  return text;
}

}  // namespace

Rule required() {
  Rule rule;
  rule.required = true;
  return rule;
}
Rule at_least(double low) {
  Rule rule;
  rule.min = low;
  return rule;
}
Rule greater_than(double low) {
  Rule rule = at_least(low);
  rule.min_exclusive = true;
  return rule;
}
Rule in_range(double low, double high) {
  Rule rule = at_least(low);
  rule.max = high;
  return rule;
}
Rule left_open_range(double low, double high) {
  Rule rule = in_range(low, high);
  rule.min_exclusive = true;
  return rule;
}
Rule right_open_range(double low, double high) {
  Rule rule = in_range(low, high);
  rule.max_exclusive = true;
  return rule;
}
Rule open_range(double low, double high) {
  Rule rule = in_range(low, high);
  rule.min_exclusive = rule.max_exclusive = true;
  return rule;
}
Rule one_of(std::vector<std::string> choices) {
  Rule rule;
  rule.choices = std::move(choices);
  return rule;
}
Rule required_one_of(std::vector<std::string> choices) {
  Rule rule = one_of(std::move(choices));
  rule.required = true;
  return rule;
}

void TomlFieldReader::section(std::string_view name) {
  section_ = std::string(name);
  known_keys_[section_];
  const toml::node* node = root_.get(name);
  table_ = node != nullptr ? node->as_table() : nullptr;
  if (node != nullptr && table_ == nullptr) {
    fail(str_cat("[", section_, "] must be a table, got ", toml_type_name(*node)));
  }
}

// Unknown sections and keys are errors: a typo must not silently fall back to a default.
void TomlFieldReader::reject_unknown() {
  for (const auto& [name, node] : root_) {
    auto known = known_keys_.find(std::string(name.str()));
    if (known == known_keys_.end()) {
      fail(str_cat("unknown section [", name.str(), "]"));
      continue;
    }
    const toml::table* table = node.as_table();
    if (table == nullptr) continue;
    for (const auto& [key, unused] : *table) {
      if (!known->second.count(std::string(key.str()))) {
        fail(str_cat("[", name.str(), "] unknown key '", key.str(), "'"));
      }
    }
  }
}

void TomlFieldReader::fail(const std::string& message) {
  if (status_.ok()) status_ = Status::invalid_argument(str_cat(source_, ": ", message));
}
void TomlFieldReader::wrong_type(std::string_view key, const char* expected, const toml::node& node) {
  fail(str_cat("[", section_, "] ", key, ": expected ", expected, ", got ", toml_type_name(node)));
}
void TomlFieldReader::check_range(std::string_view key, double x, const Rule& rule) {
  const bool below = rule.min && (rule.min_exclusive ? x <= *rule.min : x < *rule.min);
  const bool above = rule.max && (rule.max_exclusive ? x >= *rule.max : x > *rule.max);
  if (below || above || std::isnan(x)) {
    fail(str_cat("[", section_, "] ", key, ": expected ", describe_range(rule), ", got ", x));
  }
}

void TomlFieldReader::read(std::string_view key, const toml::node& node, std::string& value, const Rule& rule) {
  if (!node.is_string()) return wrong_type(key, "a string", node);
  value = node.as_string()->get();
  if (rule.choices.empty()) return;
  for (const auto& choice : rule.choices) {
    if (choice == value) return;
  }
  std::string allowed;
  for (const auto& choice : rule.choices) allowed += str_cat(allowed.empty() ? "" : ", ", "\"", choice, "\"");
  fail(str_cat("[", section_, "] ", key, ": expected one of ", allowed, ", got \"", value, "\""));
}
void TomlFieldReader::read(std::string_view key, const toml::node& node, int64_t& value, const Rule& rule) {
  if (!node.is_integer()) return wrong_type(key, "an integer", node);
  value = node.as_integer()->get();
  check_range(key, static_cast<double>(value), rule);
}
void TomlFieldReader::read(std::string_view key, const toml::node& node, uint64_t& value, const Rule& rule) {
  if (!node.is_integer()) return wrong_type(key, "an integer", node);
  const int64_t signed_value = node.as_integer()->get();
  if (signed_value < 0) return fail(str_cat("[", section_, "] ", key, ": expected x >= 0, got ", signed_value));
  value = static_cast<uint64_t>(signed_value);
}
void TomlFieldReader::read(std::string_view key, const toml::node& node, double& value, const Rule& rule) {
  if (node.is_integer()) {
    value = static_cast<double>(node.as_integer()->get());
  } else if (node.is_floating_point()) {
    value = node.as_floating_point()->get();
  } else {
    return wrong_type(key, "a number", node);
  }
  check_range(key, value, rule);
}
// A list of non-empty strings.
void TomlFieldReader::read(std::string_view key, const toml::node& node, std::vector<std::string>& value, const Rule&) {
  const toml::array* array = node.as_array();
  if (array == nullptr) return wrong_type(key, "an array of strings", node);
  value.clear();
  for (size_t i = 0; i < array->size(); ++i) {
    const toml::node& element = *array->get(i);
    if (!element.is_string()) return wrong_type(str_cat(key, "[", i, "]"), "a string", element);
    if (element.as_string()->get().empty()) return fail(str_cat("[", section_, "] ", key, "[", i, "]: must not be empty"));
    value.push_back(element.as_string()->get());
  }
}
void TomlFieldReader::read(std::string_view key, const toml::node& node, bool& value, const Rule&) {
  if (!node.is_boolean()) return wrong_type(key, "a boolean", node);
  value = node.as_boolean()->get();
}
void TomlFieldReader::missing(std::string_view key) {
  fail(str_cat("[", section_, "] missing required key '", key, "'"));
}

void TomlFieldWriter::section(std::string_view name) {
  root_.insert(name, toml::table{});
  table_ = root_.get(name)->as_table();
}

void TomlFieldWriter::field(std::string_view key, uint64_t value, const Rule&) {
  CARAVAN_CHECK(value <= static_cast<uint64_t>(INT64_MAX), key, " = ", value, " does not fit a TOML integer");
  table_->insert(key, static_cast<int64_t>(value));
}

void TomlFieldWriter::field(std::string_view key, const std::vector<std::string>& value, const Rule&) {
  toml::array array;
  for (const std::string& element : value) array.push_back(element);
  table_->insert(key, std::move(array));
}

std::string TomlFieldWriter::text() const {
  std::ostringstream out;
  // Basic strings only: they escape control characters. A multi-line string drops a newline
  // right after its opening quotes (the stop string "\n\n" would come back as "\n") and a
  // literal string cannot hold one at all.
  out << toml::toml_formatter(root_, toml::toml_formatter::default_flags &
                                         ~(toml::format_flags::allow_multi_line_strings |
                                           toml::format_flags::allow_literal_strings));
  out << "\n";
  return out.str();
}

} // namespace caravan::core
