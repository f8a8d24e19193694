// File: bench/bench_logprobs_memory.cpp
// Peak memory and time of the learner's logprob computation, forward and backward, from final
// hidden states [B*T, H] and an output head [V, H]: the full path (logits [B*T, V] float32,
// log_softmax, gather; autograd keeps the [B*T, V] softmax for backward) against
// learner::chunked_token_statistics (logprobs and entropy a chunk of positions at a time,
// recomputed in backward). Each path runs in a forked child with one intra-op thread, so its
// peak resident set (getrusage ru_maxrss) is its own; a child that only allocates the inputs gives
// the baseline that is subtracted.
//
//   build/bench/bench_logprobs_memory --quick    # 4096 positions x 8192 vocab, a few seconds
//   build/bench/bench_logprobs_memory            # 4096 positions x 32768 vocab
//
// The last line is `RESULT full_peak_mib=... chunked_peak_mib=... memory_ratio=... full_s=... chunked_s=...`.
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>

#include <ATen/ATen.h>
#include <ATen/Parallel.h>

#include "learner/chunked_logprobs.h"
#include "model/logprobs.h"

namespace caravan::bench {
namespace {

using Clock = std::chrono::steady_clock;

enum class Path { kInputsOnly, kFull, kChunked };

struct Shape {
  int64_t positions = 4096;
  int64_t hidden = 256;
  int64_t vocab = 32768;
  int64_t chunk = 1024;
};

// Builds the inputs and runs one forward + backward of `path`; returns the seconds it took.
double run_path(Path path, const Shape& shape) {
  at::manual_seed(0);
  const at::Tensor hidden = at::randn({1, shape.positions, shape.hidden}).requires_grad_(true);
  const at::Tensor head = (at::randn({shape.vocab, shape.hidden}) * 0.05).requires_grad_(true);
  const at::Tensor targets = at::randint(shape.vocab, {1, shape.positions}, at::kLong);
  const auto start = Clock::now();
  switch (path) {
    case Path::kInputsOnly:
      return 0;
    case Path::kFull:
      model::token_logprobs(at::linear(hidden, head), targets, /*temperature=*/1.0).sum().backward();
      break;
    case Path::kChunked:
      learner::chunked_token_statistics(hidden, head, targets, /*temperature=*/1.0, shape.chunk).logprobs.sum().backward();
      break;
  }
  return std::chrono::duration<double>(Clock::now() - start).count();
}

struct ChildResult {
  double peak_mib = 0;
  double seconds = 0;
};

// Runs `path` in a forked child; its peak RSS from wait4 and its time through a pipe.
ChildResult in_child(Path path, const Shape& shape) {
  int fds[2];
  if (::pipe(fds) != 0) return {};
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::close(fds[0]);
    const double seconds = run_path(path, shape);
    const ssize_t written = ::write(fds[1], &seconds, sizeof(seconds));
    ::_exit(written == sizeof(seconds) ? 0 : 1);
  }
  ::close(fds[1]);
  ChildResult result;
  if (::read(fds[0], &result.seconds, sizeof(result.seconds)) != sizeof(result.seconds)) result.seconds = -1;
  ::close(fds[0]);
  int status = 0;
  struct rusage usage {};
  ::wait4(pid, &status, 0, &usage);
  result.peak_mib = static_cast<double>(usage.ru_maxrss) / 1024.0;  // ru_maxrss is in KiB on Linux
  return result;
}

} // namespace
} // namespace caravan::bench

int main(int argc, char** argv) {
  using namespace caravan::bench;
  Shape shape;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--quick") == 0) {
      shape.vocab = 8192;
    } else {
      std::fprintf(stderr, "usage: bench_logprobs_memory [--quick]\n");
      return 2;
    }
  }
  // Before any ATen work, so that the children fork a process without an intra-op pool.
  at::set_num_threads(1);
  const ChildResult baseline = in_child(Path::kInputsOnly, shape);
  const ChildResult full = in_child(Path::kFull, shape);
  const ChildResult chunked = in_child(Path::kChunked, shape);
  if (full.seconds < 0 || chunked.seconds < 0) {
    std::fprintf(stderr, "bench_logprobs_memory: a child failed\n");
    return 1;
  }
  const double full_peak = full.peak_mib - baseline.peak_mib;
  const double chunked_peak = chunked.peak_mib - baseline.peak_mib;
  const double logits_mib = static_cast<double>(shape.positions * shape.vocab) * 4 / (1 << 20);
  std::printf("positions=%lld hidden=%lld vocab=%lld chunk=%lld: one [positions x vocab] float32 tensor is %.0f MiB\n",
              static_cast<long long>(shape.positions), static_cast<long long>(shape.hidden),
              static_cast<long long>(shape.vocab), static_cast<long long>(shape.chunk), logits_mib);
  std::printf("baseline (inputs) peak %.0f MiB; above it: full %.0f MiB in %.3f s, chunked %.0f MiB in %.3f s\n",
              baseline.peak_mib, full_peak, full.seconds, chunked_peak, chunked.seconds);
  std::printf("RESULT full_peak_mib=%.0f chunked_peak_mib=%.0f memory_ratio=%.2f full_s=%.3f chunked_s=%.3f\n",
              full_peak, chunked_peak, full_peak / std::max(chunked_peak, 1.0), full.seconds, chunked.seconds);
  return 0;
}
