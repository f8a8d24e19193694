// File: core/str_cat.h
// Concatenates any streamable values into a std::string (like c10::str), because g++ 12
// has no <format>.
//
//   std::string message = str_cat("step=", step, " loss=", loss);
#pragma once

#include <sstream>
#include <string>

namespace caravan {

template <class... Args>
std::string str_cat(const Args&... args) {
  std::ostringstream out;
  (out << ... << args);
  return out.str();
}

} // namespace caravan
