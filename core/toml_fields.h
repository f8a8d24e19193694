// File: core/toml_fields.h
// The typed readers and writers of a TOML config file, field by field: a reader checks each
// key's type and range and names the key in every error ("[grpo] clip_low: expected 0 < x <= 1,
// got 1.5"), rejects unknown sections and keys, and keeps the first error; a writer puts every
// field back. A config's reader walks one list of fields with either of them (one visitor
// template), so reading and writing can never disagree about a key's name, section or type.
//
//   template <class Visitor> void visit(MyConfig& c, Visitor& v) {
//     v.section("grpo");
//     v.field("clip_low", c.clip_low, left_open_range(0, 1));
//     v.field("lr_schedule", c.schedule, enum_choices(kAllLrScheduleKinds));
//   }
//   TomlFieldReader reader(root, "configs/x.toml"); visit(config, reader); reader.reject_unknown();
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include <toml++/toml.h>

#include "core/status.h"

namespace caravan::core {

// `toml_text` as a TOML document. A syntax error is kInvalidArgument naming where it is:
// "SOURCE_NAME:LINE:COLUMN: description".
Result<toml::table> parse_toml(std::string_view toml_text, const std::string& source_name);

// What a field accepts. Bounds apply to numbers; `choices` to strings.
struct Rule {
  bool required = false;
  std::optional<double> min;
  std::optional<double> max;
  bool min_exclusive = false;
  bool max_exclusive = false;
  std::vector<std::string> choices;
};

Rule required();
Rule at_least(double low);
Rule greater_than(double low);
Rule in_range(double low, double high);
// low < x <= high.
Rule left_open_range(double low, double high);
// low <= x < high.
Rule right_open_range(double low, double high);
Rule open_range(double low, double high);
Rule one_of(std::vector<std::string> choices);
Rule required_one_of(std::vector<std::string> choices);

// The rule of an enum field: the file spells it by enum_name (found next to the enum) and
// accepts exactly the names of `enumerators`.
template <class Enum, size_t N>
struct EnumRule {
  Rule rule;
  const std::array<Enum, N>* enumerators = nullptr;
};
template <class Enum, size_t N>
EnumRule<Enum, N> enum_choices(const std::array<Enum, N>& enumerators) {
  std::vector<std::string> names;
  for (Enum enumerator : enumerators) names.emplace_back(enum_name(enumerator));
  return {one_of(std::move(names)), &enumerators};
}

// Reads fields out of a parsed TOML document; keeps the first error.
class TomlFieldReader {
 public:
  TomlFieldReader(const toml::table& root, std::string source) : root_(root), source_(std::move(source)) {}

  // The fields that follow are keys of [name].
  void section(std::string_view name);

  // Reads the inline architecture keys whatever `used` says, recording which are present, so
  // that the config's reader can reject them beside [model] path.
  template <class Fields>
  void inline_model_fields(bool /*used*/, const Fields& fields) {
    reading_inline_model_ = true;
    fields();
    reading_inline_model_ = false;
  }
  // The inline architecture keys the file gives, in the order they were read.
  const std::vector<std::string>& inline_model_keys() const { return inline_model_keys_; }

  // An absent key leaves `value` as it is (its default), unless `rule` requires it.
  void field(std::string_view key, std::string& value, const Rule& rule) { field_of(key, value, rule); }
  void field(std::string_view key, int64_t& value, const Rule& rule) { field_of(key, value, rule); }
  void field(std::string_view key, uint64_t& value, const Rule& rule) { field_of(key, value, rule); }
  void field(std::string_view key, double& value, const Rule& rule) { field_of(key, value, rule); }
  // A list of non-empty strings.
  void field(std::string_view key, std::vector<std::string>& value, const Rule& rule) { field_of(key, value, rule); }
  void field(std::string_view key, bool& value, const Rule& rule) { field_of(key, value, rule); }
  // A key that may be absent: present means set.
  template <class T>
  void field(std::string_view key, std::optional<T>& value, const Rule& rule) {
    field_of(key, value, rule);
  }
  // An enum is a string naming one of its enumerators.
  template <class Enum, size_t N>
  void field(std::string_view key, Enum& value, const EnumRule<Enum, N>& rule) {
    std::string name(enum_name(value));
    field(key, name, rule.rule);
    for (Enum enumerator : *rule.enumerators) {
      if (enum_name(enumerator) == name) value = enumerator;
    }
  }

  // Unknown sections and keys are errors: a typo must not silently fall back to a default.
  void reject_unknown();

  const Status& status() const { return status_; }

 private:
  template <class T>
  void field_of(std::string_view key, T& value, const Rule& rule) {
    known_keys_[section_].insert(std::string(key));
    const toml::node* node = table_ != nullptr ? table_->get(key) : nullptr;
    if (node != nullptr && reading_inline_model_) inline_model_keys_.emplace_back(key);
    if (node == nullptr) {
      if (rule.required) missing(key);
      return;
    }
    read(key, *node, value, rule);
  }

  void fail(const std::string& message);
  void missing(std::string_view key);
  void wrong_type(std::string_view key, const char* expected, const toml::node& node);
  void check_range(std::string_view key, double x, const Rule& rule);

  void read(std::string_view key, const toml::node& node, std::string& value, const Rule& rule);
  void read(std::string_view key, const toml::node& node, int64_t& value, const Rule& rule);
  void read(std::string_view key, const toml::node& node, uint64_t& value, const Rule& rule);
  void read(std::string_view key, const toml::node& node, double& value, const Rule& rule);
  void read(std::string_view key, const toml::node& node, std::vector<std::string>& value, const Rule& rule);
  void read(std::string_view key, const toml::node& node, bool& value, const Rule& rule);
  template <class T>
  void read(std::string_view key, const toml::node& node, std::optional<T>& value, const Rule& rule) {
    T present{};
    read(key, node, present, rule);
    value = present;
  }

  const toml::table& root_;
  std::string source_;
  std::string section_;
  const toml::table* table_ = nullptr;
  std::map<std::string, std::set<std::string>> known_keys_;
  bool reading_inline_model_ = false;
  std::vector<std::string> inline_model_keys_;
  Status status_;
};

// Writes every field into a TOML document.
class TomlFieldWriter {
 public:
  // The inline architecture is written only for a model without [model] path.
  template <class Fields>
  void inline_model_fields(bool used, const Fields& fields) {
    if (used) fields();
  }
  void section(std::string_view name);
  void field(std::string_view key, const std::string& value, const Rule&) { table_->insert(key, value); }
  void field(std::string_view key, int64_t value, const Rule&) { table_->insert(key, value); }
  // TOML integers are signed 64-bit; seeds above INT64_MAX do not round-trip, so they are rejected.
  void field(std::string_view key, uint64_t value, const Rule&);
  void field(std::string_view key, double value, const Rule&) { table_->insert(key, value); }
  void field(std::string_view key, const std::vector<std::string>& value, const Rule&);
  void field(std::string_view key, bool value, const Rule&) { table_->insert(key, value); }
  template <class T>
  void field(std::string_view key, const std::optional<T>& value, const Rule& rule) {
    if (value) field(key, *value, rule);  // an absent key stays absent
  }
  template <class Enum, size_t N>
  void field(std::string_view key, Enum value, const EnumRule<Enum, N>&) {
    table_->insert(key, std::string(enum_name(value)));
  }

  // The document as TOML text, strings written as basic strings, ending in a newline.
  std::string text() const;

 private:
  toml::table root_;
  toml::table* table_ = nullptr;
};

} // namespace caravan::core
