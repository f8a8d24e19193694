#!/usr/bin/env bash
# Builds the CUDA code on a GPU machine and runs every GPU test and benchmark, in one call:
# - the rollout engine on CUDA: its GPU tests (tests/actors/gpu/: greedy equality with and
#   without CUDA graphs, bf16 logprobs, kv_cache_fraction from the device's free memory) and the
#   GPU part of bench_rollout (decode tokens/s at batch 1, 32, 256 of a 0.6 B model in bfloat16
#   against transformers' generate, run by bench/transformers_generate.py with the machine's
#   python3, and against the HBM roofline);
# - the learner on CUDA: its GPU tests (tests/learner/gpu/: GRPO against the CPU step, SFT and DPO
#   in bf16 autocast with gradient checkpointing, data-parallel gradients summed over NCCL in
#   device memory) and the GPU part of bench_learner (SFT steps in bf16 autocast with gradient
#   checkpointing on 0.6 B and 1.5 B models: tokens/s and MFU against the card's bf16 peak);
# - the CUDA weight-sync backends: NCCL with world size 1 and with two processes on one GPU, CUDA
#   IPC between two processes and its install bandwidth against a device-to-device copy (RESULT
#   lines), and the CPU weight-sync suite with the CUDA LibTorch.
# The GPU machine has no apt and no network: run scripts/prepare-gpu-prefix.sh on a machine with
# apt first and bring .gpu-prefix/ along. LibTorch is the machine's CUDA build (pip torch).
#
# Time: a device session allows about 10 minutes per command and 15 minutes in all, start-up
# included, so the whole script keeps within CARAVAN_GPU_CHECK_BUDGET_S seconds (default 540).
# Every step runs under its own timeout, never longer than the budget left; a step whose
# prerequisite failed, or that the budget no longer allows, is reported as skipped. Each
# component is built and then run before the next is built, so a slow build still leaves the
# first component's results. The last lines are a summary (step, status, seconds) and
# `RESULT gpu_check=pass|fail`; the exit status is 0 only when every step passed.
#
#   scripts/gpu-check.sh [BUILD_DIR]                    # default BUILD_DIR: build-gpu/
#   CARAVAN_GPU_ROLLOUT_QUICK=1 scripts/gpu-check.sh    # bench_rollout --gpu --quick (32 new tokens)
#   CARAVAN_GPU_LEARNER_QUICK=1 scripts/gpu-check.sh    # bench_learner --gpu --quick (3 timed steps)
#   CARAVAN_GPU_BENCH_GIB=1,2,4,7 scripts/gpu-check.sh  # more sizes for the CUDA IPC bandwidth
set -uo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${1:-${root}/build-gpu}"
prefix="${CARAVAN_GPU_PREFIX:-${root}/.gpu-prefix}"
cuda="${CUDA_HOME:-/usr/local/cuda}"
budget_s="${CARAVAN_GPU_CHECK_BUDGET_S:-540}"
started_s="${SECONDS}"

if [[ ! -d "${prefix}/usr" ]]; then
  echo "gpu-check: ${prefix}/usr is missing; run scripts/prepare-gpu-prefix.sh where apt works" >&2
  exit 2
fi
multiarch="${prefix}/usr/lib/x86_64-linux-gnu"
export PATH="${prefix}/usr/bin:${cuda}/bin:${PATH}"
export LD_LIBRARY_PATH="${multiarch}:${cuda}/lib64:${LD_LIBRARY_PATH:-}"
# The .pc files say prefix=/usr: the sysroot moves them into the prefix.
export PKG_CONFIG_LIBDIR="${multiarch}/pkgconfig:${prefix}/usr/share/pkgconfig"
export PKG_CONFIG_SYSROOT_DIR="${prefix}"

summary=()  # "step status seconds"
failed=0
declare -A step_passed

# step NAME TIMEOUT_S NEEDS COMMAND...: runs COMMAND under `timeout` (at most TIMEOUT_S, at most
# the budget left) unless the step NEEDS (a step name, or "-") did not pass or under 10 s of the
# budget are left; records its status: pass, fail (exit N), timeout (N s) or skipped (why).
step() {
  local name="$1" limit_s="$2" needs="$3"
  shift 3
  local left_s=$((budget_s - (SECONDS - started_s)))
  local status
  if [[ "${needs}" != "-" && -z "${step_passed[${needs}]:-}" ]]; then
    status="skipped (${needs} did not pass)"
  elif ((left_s < 10)); then
    status="skipped (budget of ${budget_s} s spent)"
  else
    ((limit_s > left_s)) && limit_s="${left_s}"
    echo "=== gpu-check: ${name} (timeout ${limit_s} s)"
    local begin_s="${SECONDS}" rc=0
    timeout --kill-after=10 "${limit_s}" "$@" || rc=$?
    local took_s=$((SECONDS - begin_s))
    if ((rc == 0)); then
      status="pass"
      step_passed["${name}"]=1
    elif ((rc == 124 || rc == 137)); then
      status="timeout (${limit_s} s)"
    else
      status="fail (exit ${rc})"
    fi
    summary+=("$(printf '%-22s %-34s %5d s' "${name}" "${status}" "${took_s}")")
    [[ "${status}" == pass ]] || failed=1
    return 0
  fi
  summary+=("$(printf '%-22s %-34s %5s' "${name}" "${status}" "-")")
  failed=1
}

torch_prefix="$(python3 -c 'import torch; print(torch.utils.cmake_prefix_path)')" || torch_prefix=""
echo "RESULT gpu=\"$(nvidia-smi --query-gpu=name --format=csv,noheader | head -1)\" torch_prefix=${torch_prefix}"
jobs="$(nproc)"

step configure 120 - cmake -S "${root}" -B "${build}" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCARAVAN_BUILD_TESTS=ON -DCARAVAN_BUILD_BENCH=ON -DCARAVAN_WITH_CUDA=ON \
  -DCUDAToolkit_ROOT="${cuda}" -DCMAKE_PREFIX_PATH="${torch_prefix};${prefix}/usr"
# The rollout engine first (issue 19), then the weight sync.
step build_engine 330 configure cmake --build "${build}" --target engine_gpu_test bench_rollout -j "${jobs}"
step engine_gpu_test 120 build_engine "${build}/tests/actors/engine_gpu_test"
step bench_rollout_gpu 240 build_engine "${build}/bench/bench_rollout" --gpu ${CARAVAN_GPU_ROLLOUT_QUICK:+--quick}
# The learner (issue 20): MFU against the card's dense bf16 peak (H100 PCIe 756, SXM and H200 989).
case "$(nvidia-smi --query-gpu=name --format=csv,noheader | head -1)" in
  *H100*PCIe*) peak_tflops=756 ;;
  *) peak_tflops=989 ;;
esac
step build_learner 240 configure cmake --build "${build}" --target learner_gpu_test bench_learner -j "${jobs}"
step learner_gpu_test 120 build_learner "${build}/tests/learner/learner_gpu_test"
step bench_learner_gpu 150 build_learner "${build}/bench/bench_learner" --gpu --peak-tflops "${peak_tflops}" \
  ${CARAVAN_GPU_LEARNER_QUICK:+--quick}
step build_weights_sync 240 configure cmake --build "${build}" \
  --target weights_sync_gpu_test weights_sync_gpu_peer weights_sync_test -j "${jobs}"
step weights_sync_gpu_test 150 build_weights_sync "${build}/tests/weights_sync/weights_sync_gpu_test"
# The CPU suite with the CUDA LibTorch: the Gloo path must not depend on which LibTorch it is.
step weights_sync_test 120 build_weights_sync "${build}/tests/weights_sync/weights_sync_test"

echo "=== gpu-check summary (budget ${budget_s} s, $((SECONDS - started_s)) s used)"
printf '%s\n' "${summary[@]}"
echo "RESULT gpu_check=$([[ ${failed} == 0 ]] && echo pass || echo fail)"
exit "${failed}"
