#include "core/reward_config.h"

#include <cmath>
#include <cstdio>
#include <set>
#include <sstream>

#include <toml++/toml.h>

#include "core/hash.h"
#include "core/read_file.h"
#include "core/toml_fields.h"
#include "core/toml_names.h"

namespace caravan::core {
namespace {

// Reads the keys of one TOML table, e.g. [source.gsm8k.overlong]; every error names the file,
// the section and the key. Keys read are remembered so reject_unknown() can name the others.
class SectionReader {
 public:
  SectionReader(const toml::table& table, const std::string& file, std::string section)
      : table_(table), file_(file), section_(std::move(section)) {}

  Status error(std::string_view key, const std::string& message) const {
    return Status::invalid_argument(str_cat(file_, ": [", section_, "] ", key, ": ", message));
  }

  // The node under `key`, or nullptr; marks the key as known.
  const toml::node* get(std::string_view key) {
    known_.insert(std::string(key));
    return table_.get(key);
  }

  Status read_number(std::string_view key, double low, double high, double& value) {
    const toml::node* node = get(key);
    if (node == nullptr) return Status();
    if (node->is_integer()) {
      value = static_cast<double>(node->as_integer()->get());
    } else if (node->is_floating_point()) {
      value = node->as_floating_point()->get();
    } else {
      return error(key, str_cat("expected a number, got ", toml_type_name(*node)));
    }
    if (!(value >= low && value <= high)) {
      return error(key, str_cat("expected ", low, " <= x <= ", high, ", got ", value));
    }
    return Status();
  }

  // `high_text` describes the upper bound when it comes from another key.
  Status read_integer(std::string_view key, int64_t low, int64_t high_exclusive, const std::string& high_text,
                      int64_t& value) {
    const toml::node* node = get(key);
    if (node == nullptr) return Status();
    if (!node->is_integer()) return error(key, str_cat("expected an integer, got ", toml_type_name(*node)));
    value = node->as_integer()->get();
    if (value < low || value >= high_exclusive) {
      return error(key, str_cat("expected ", low, " <= x < ", high_text, ", got ", value));
    }
    return Status();
  }

  Status read_bool(std::string_view key, bool& value) {
    const toml::node* node = get(key);
    if (node == nullptr) return Status();
    if (!node->is_boolean()) return error(key, str_cat("expected a boolean, got ", toml_type_name(*node)));
    value = node->as_boolean()->get();
    return Status();
  }

  Status read_string(std::string_view key, std::string& value) {
    const toml::node* node = get(key);
    if (node == nullptr) return Status();
    if (!node->is_string()) return error(key, str_cat("expected a string, got ", toml_type_name(*node)));
    value = node->as_string()->get();
    return Status();
  }

  // The sub-table under `key` ([section.key]), or nullptr when absent.
  Result<const toml::table*> read_table(std::string_view key) {
    const toml::node* node = get(key);
    if (node == nullptr) return static_cast<const toml::table*>(nullptr);
    if (!node->is_table()) return error(key, str_cat("expected a table, got ", toml_type_name(*node)));
    return node->as_table();
  }

  // A typo must not silently fall back to a default.
  Status reject_unknown() const {
    for (const auto& [key, node] : table_) {
      if (!known_.contains(std::string(key.str()))) {
        return Status::invalid_argument(str_cat(file_, ": [", section_, "] unknown key '", key.str(), "'"));
      }
    }
    return Status();
  }

  const std::string& section() const { return section_; }
  const std::string& file() const { return file_; }

 private:
  const toml::table& table_;
  const std::string& file_;
  std::string section_;
  std::set<std::string> known_;
};

Result<FormatRewardOptions> parse_format(const toml::table& table, const std::string& file, const std::string& section) {
  SectionReader reader(table, file, section);
  std::string pattern;
  double multiplier = 0.0;
  if (reader.get("pattern") == nullptr) {
    return Status::invalid_argument(str_cat(file, ": [", section, "] missing required key 'pattern'"));
  }
  CARAVAN_RETURN_IF_ERROR(reader.read_string("pattern", pattern));
  CARAVAN_RETURN_IF_ERROR(reader.read_number("multiplier_if_missing", 0.0, 1.0, multiplier));
  CARAVAN_RETURN_IF_ERROR(reader.reject_unknown());
  Result<FormatRewardOptions> format = make_format_reward_options(pattern, multiplier);
  if (!format.ok()) return reader.error("pattern", format.status().message());
  return format;
}

Result<OverlongOptions> parse_overlong(const toml::table& table, const std::string& file, const std::string& section) {
  SectionReader reader(table, file, section);
  OverlongOptions overlong;
  if (reader.get("max_tokens") == nullptr) {
    return Status::invalid_argument(str_cat(file, ": [", section, "] missing required key 'max_tokens'"));
  }
  CARAVAN_RETURN_IF_ERROR(reader.read_integer("max_tokens", 1, INT64_MAX, "9223372036854775807", overlong.max_tokens));
  CARAVAN_RETURN_IF_ERROR(reader.read_integer("buffer_tokens", 0, overlong.max_tokens,
                                              str_cat("max_tokens (", overlong.max_tokens, ")"),
                                              overlong.buffer_tokens));
  CARAVAN_RETURN_IF_ERROR(reader.reject_unknown());
  return overlong;
}

Result<double> parse_non_stop(const toml::table& table, const std::string& file, const std::string& section) {
  SectionReader reader(table, file, section);
  double reward = 0.0;
  if (reader.get("reward") == nullptr) {
    return Status::invalid_argument(str_cat(file, ": [", section, "] missing required key 'reward'"));
  }
  CARAVAN_RETURN_IF_ERROR(reader.read_number("reward", -1000.0, 1000.0, reward));
  CARAVAN_RETURN_IF_ERROR(reader.reject_unknown());
  return reward;
}

Result<SourceRewardOptions> parse_source(const toml::table& table, const std::string& file, const std::string& section) {
  SectionReader reader(table, file, section);
  SourceRewardOptions source;
  CARAVAN_RETURN_IF_ERROR(reader.read_string("verifier", source.verifier));
  CARAVAN_RETURN_IF_ERROR(reader.read_number("weight", 0.0, 1000.0, source.weight));
  CARAVAN_RETURN_IF_ERROR(reader.read_bool("partial_credit", source.partial_credit));
  CARAVAN_RETURN_IF_ERROR(reader.read_number("numeric_tolerance", 0.0, 1.0, source.numeric_tolerance));

  CARAVAN_ASSIGN_OR_RETURN(const toml::table* format, reader.read_table("format"));
  if (format != nullptr) {
    CARAVAN_ASSIGN_OR_RETURN(source.format, parse_format(*format, file, section + ".format"));
  }
  CARAVAN_ASSIGN_OR_RETURN(const toml::table* overlong, reader.read_table("overlong"));
  if (overlong != nullptr) {
    CARAVAN_ASSIGN_OR_RETURN(source.overlong, parse_overlong(*overlong, file, section + ".overlong"));
  }
  CARAVAN_ASSIGN_OR_RETURN(const toml::table* non_stop, reader.read_table("non_stop"));
  if (non_stop != nullptr) {
    CARAVAN_ASSIGN_OR_RETURN(source.non_stop_reward, parse_non_stop(*non_stop, file, section + ".non_stop"));
  }
  CARAVAN_RETURN_IF_ERROR(reader.reject_unknown());
  return source;
}

}  // namespace

Result<FormatRewardOptions> make_format_reward_options(std::string pattern, double multiplier_if_missing) {
  if (!(multiplier_if_missing >= 0.0 && multiplier_if_missing <= 1.0)) {
    return Status::invalid_argument(str_cat("multiplier_if_missing: expected 0 <= x <= 1, got ", multiplier_if_missing));
  }
  FormatRewardOptions format;
  Result<Regex> regex = Regex::compile(pattern);
  if (!regex.ok()) return Status::invalid_argument(str_cat("not a valid regular expression: ", regex.status().message()));
  format.regex = std::move(*regex);
  format.pattern = std::move(pattern);
  format.multiplier_if_missing = multiplier_if_missing;
  return format;
}

const SourceRewardOptions* RewardOptions::find(std::string_view source) const {
  if (auto it = sources.find(source); it != sources.end()) return &it->second;
  if (auto it = sources.find(kDefaultSource); it != sources.end()) return &it->second;
  return nullptr;
}

std::string reward_config_version(std::string_view bytes) {
  const uint64_t hash = fnv1a64(bytes);
  char hex[17];
  std::snprintf(hex, sizeof(hex), "%016llx", static_cast<unsigned long long>(hash));
  return std::string(hex, 12);
}

Result<RewardOptions> parse_reward_options(std::string_view toml_text, const std::string& source_name) {
  CARAVAN_ASSIGN_OR_RETURN(const toml::table root, parse_toml(toml_text, source_name));
  for (const auto& [name, node] : root) {
    if (name.str() != "source") {
      return Status::invalid_argument(str_cat(source_name, ": unknown section [", name.str(), "]; expected [source.NAME]"));
    }
  }
  if (const toml::node* node = root.get("source"); node != nullptr && !node->is_table()) {
    return Status::invalid_argument(str_cat(source_name, ": source: expected [source.NAME] tables, got ", toml_type_name(*node)));
  }
  const toml::table* sources = root["source"].as_table();
  if (sources == nullptr || sources->empty()) {
    return Status::invalid_argument(str_cat(source_name, ": no [source.NAME] section; add [source.default] at least"));
  }
  RewardOptions options;
  for (const auto& [name, node] : *sources) {
    const std::string section = str_cat("source.", name.str());
    if (!node.is_table()) {
      return Status::invalid_argument(
          str_cat(source_name, ": [source] ", name.str(), ": expected a table [", section, "], got ", toml_type_name(node)));
    }
    CARAVAN_ASSIGN_OR_RETURN(SourceRewardOptions source, parse_source(*node.as_table(), source_name, section));
    options.sources.emplace(std::string(name.str()), std::move(source));
  }
  options.version = reward_config_version(toml_text);
  return options;
}

Result<RewardOptions> load_reward_options(const std::filesystem::path& file) {
  CARAVAN_ASSIGN_OR_RETURN(const std::string text, read_file(file, "reward config"));
  return parse_reward_options(text, file.string());
}

} // namespace caravan::core
