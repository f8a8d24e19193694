#include "core/process_memory.h"

#include <unistd.h>

#include <fstream>

namespace caravan::core {

std::optional<int64_t> resident_bytes() {
  std::ifstream statm("/proc/self/statm");
  int64_t size_pages = 0;
  int64_t resident_pages = 0;
  if (!(statm >> size_pages >> resident_pages)) return std::nullopt;
  const long page_bytes = ::sysconf(_SC_PAGESIZE);
  if (page_bytes <= 0) return std::nullopt;
  return resident_pages * page_bytes;
}

} // namespace caravan::core
