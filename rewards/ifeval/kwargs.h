// File: rewards/ifeval/kwargs.h
// Typed, validated access to one instruction's parameter object (IFEval "kwargs", or the
// arguments of an open-instruct func_name constraint). Null and absent keys both count as
// missing; every failure is kInvalidArgument naming the instruction and the parameter.
//
//   Kwargs kwargs("length_constraints:number_words", object);
//   CARAVAN_ASSIGN_OR_RETURN(std::int64_t n, kwargs.count("num_words"));
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/status.h"
#include "rewards/ifeval/instructions.h"

namespace caravan::rewards::ifeval {

// Borrows `id` and `object`: both must outlive the Kwargs. `object` may be any JSON value; a
// non-object has no keys.
class Kwargs {
 public:
  Kwargs(std::string_view id, const nlohmann::json& object) : id_(id), object_(object) {}

  // kInvalidArgument "instruction 'ID': kwarg 'KEY' is missing or not EXPECTED".
  Status missing(std::string_view key, std::string_view expected) const;

  // The value under `key`, or nullptr when absent or null.
  const nlohmann::json* find(std::string_view key) const;

  Result<std::string> string(std::string_view key) const;

  // A non-negative integer (JSON integer or integral float).
  Result<std::int64_t> count(std::string_view key) const;

  // IFEval's "less than" / "at least".
  Result<Relation> relation(std::string_view key) const;

  Result<std::vector<std::string>> strings(std::string_view key) const;

 private:
  std::string_view id_;
  const nlohmann::json& object_;
};

} // namespace caravan::rewards::ifeval
