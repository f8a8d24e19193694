// Test helper of thread_wait_test.cpp: `thread_wait_probe passive|active` prints "probe main"
// each time main starts, applies the policy with core::ensure_thread_wait (which may re-execute
// it), runs one OpenMP parallel region, then prints libgomp's settings (omp_display_env: the
// ICVs libgomp read when it started, e.g. "GOMP_SPINCOUNT = '0'") to stdout. libgomp is the
// OpenMP runtime of LibTorch and OpenBLAS here.
#include <omp.h>
#include <unistd.h>

#include <cstdio>
#include <iostream>
#include <string_view>

#include "core/thread_wait.h"

int main(int argc, char** argv) {
  std::cout << "probe main" << std::endl;
  if (argc != 2) return 2;
  const auto wait = std::string_view(argv[1]) == "active" ? caravan::core::ThreadWait::kActive
                                                          : caravan::core::ThreadWait::kPassive;
  if (caravan::Status applied = caravan::core::ensure_thread_wait(wait, argv); !applied.ok()) {
    std::cout << applied.to_string() << std::endl;
    return 1;
  }
  int threads = 0;
#pragma omp parallel num_threads(2)
  {
#pragma omp atomic
    ++threads;
  }
  std::cout << "threads " << threads << std::endl;
  ::dup2(STDOUT_FILENO, STDERR_FILENO);  // omp_display_env writes to stderr
  omp_display_env(/*verbose=*/1);
  return 0;
}
