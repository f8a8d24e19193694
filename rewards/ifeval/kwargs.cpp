#include "rewards/ifeval/kwargs.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "core/str_cat.h"

namespace caravan::rewards::ifeval {

using nlohmann::json;

Status Kwargs::missing(std::string_view key, std::string_view expected) const {
  return Status::invalid_argument(str_cat("instruction '", id_, "': kwarg '", key, "' is missing or not ", expected));
}

const json* Kwargs::find(std::string_view key) const {
  if (!object_.is_object()) return nullptr;
  const auto it = object_.find(key);
  if (it == object_.end() || it->is_null()) return nullptr;
  return &*it;
}

Result<std::string> Kwargs::string(std::string_view key) const {
  const json* value = find(key);
  if (value == nullptr || !value->is_string()) return missing(key, "a string");
  return value->get<std::string>();
}

Result<std::int64_t> Kwargs::count(std::string_view key) const {
  const json* value = find(key);
  if (value != nullptr && value->is_number_integer()) {
    const std::int64_t n =
        value->is_number_unsigned()
            ? static_cast<std::int64_t>(std::min<std::uint64_t>(
                  value->get<std::uint64_t>(), static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())))
            : value->get<std::int64_t>();
    if (n >= 0) return n;
  } else if (value != nullptr && value->is_number_float()) {
    const double d = value->get<double>();
    if (std::isfinite(d) && d >= 0 && d < 1e15 && d == std::floor(d)) return static_cast<std::int64_t>(d);
  }
  return missing(key, "a non-negative integer");
}

Result<Relation> Kwargs::relation(std::string_view key) const {
  CARAVAN_ASSIGN_OR_RETURN(std::string text, string(key));
  Result<Relation> relation = parse_relation(text);
  if (!relation.ok()) {
    return Status::invalid_argument(str_cat("instruction '", id_, "': kwarg '", key, "': ", relation.status().message()));
  }
  return relation;
}

Result<std::vector<std::string>> Kwargs::strings(std::string_view key) const {
  const json* value = find(key);
  if (value == nullptr || !value->is_array()) return missing(key, "a list of strings");
  std::vector<std::string> out;
  for (const json& item : *value) {
    if (!item.is_string()) return missing(key, "a list of strings");
    out.push_back(item.get<std::string>());
  }
  return out;
}

} // namespace caravan::rewards::ifeval
