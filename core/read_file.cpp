#include "core/read_file.h"

#include <fstream>
#include <sstream>

namespace caravan::core {

Result<std::string> read_file(const std::filesystem::path& file, std::string_view what) {
  std::ifstream in(file, std::ios::binary);
  if (!in) return Status::not_found(str_cat(file.string(), ": cannot open ", what));
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) return Status::unavailable(str_cat(file.string(), ": read error (", what, ")"));
  return std::move(text).str();
}

} // namespace caravan::core
