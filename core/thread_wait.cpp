#include "core/thread_wait.h"

#include <strings.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <string>

#include "core/str_cat.h"

namespace caravan::core {
namespace {

constexpr const char* kWaitPolicyVariable = "OMP_WAIT_POLICY";

}  // namespace

std::string_view omp_wait_policy(ThreadWait wait) {
  switch (wait) {
    case ThreadWait::kPassive: return "PASSIVE";
    case ThreadWait::kActive: return "ACTIVE";
  }
  return "";
}

bool thread_wait_in_effect(ThreadWait wait) {
  const char* value = std::getenv(kWaitPolicyVariable);
  return value != nullptr && ::strcasecmp(value, std::string(omp_wait_policy(wait)).c_str()) == 0;
}

void set_thread_wait_for_children(ThreadWait wait) {
  ::setenv(kWaitPolicyVariable, std::string(omp_wait_policy(wait)).c_str(), /*overwrite=*/1);
}

Status ensure_thread_wait(ThreadWait wait, char** argv) {
  if (thread_wait_in_effect(wait)) return Status();
  set_thread_wait_for_children(wait);
  std::cout.flush();
  std::cerr.flush();
  std::fflush(nullptr);
  ::execv("/proc/self/exe", argv);
  const int error = errno;
  return Status::unavailable(str_cat("re-executing /proc/self/exe with ", kWaitPolicyVariable, "=",
                                     omp_wait_policy(wait), " failed: ", std::strerror(error)));
}

} // namespace caravan::core
