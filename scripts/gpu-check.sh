#!/usr/bin/env bash
# Builds the CUDA weight-sync backends on a GPU machine and runs their GPU tests and benchmark:
# NCCL with world size 1 and with two processes on one GPU, CUDA IPC between two processes, and
# the CUDA IPC install bandwidth against a device-to-device copy (RESULT lines). Then the rollout
# engine on CUDA: its GPU tests (tests/actors/gpu/) and the GPU part of bench_rollout (decode
# tokens/s at batch 1, 32, 256 of a 0.6 B model in bfloat16 against transformers' generate, run
# by bench/transformers_generate.py with the machine's python3, and against the HBM roofline).
# The GPU machine has no apt and no network: run scripts/prepare-gpu-prefix.sh on a machine
# with apt first and bring .gpu-prefix/ along. LibTorch is the machine's CUDA build (pip torch).
#
#   scripts/gpu-check.sh [BUILD_DIR]        # CARAVAN_GPU_BENCH_GIB=1,2,4,7 for more sizes
#   CARAVAN_GPU_ROLLOUT_QUICK=1 scripts/gpu-check.sh   # bench_rollout --gpu --quick (32 new tokens)
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${1:-${root}/build-gpu}"
prefix="${CARAVAN_GPU_PREFIX:-${root}/.gpu-prefix}"
cuda="${CUDA_HOME:-/usr/local/cuda}"

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
torch_prefix="$(python3 -c 'import torch; print(torch.utils.cmake_prefix_path)')"
echo "RESULT gpu=\"$(nvidia-smi --query-gpu=name --format=csv,noheader | head -1)\" torch_prefix=${torch_prefix}"

cmake -S "${root}" -B "${build}" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCARAVAN_BUILD_TESTS=ON -DCARAVAN_BUILD_BENCH=ON -DCARAVAN_WITH_CUDA=ON \
  -DCUDAToolkit_ROOT="${cuda}" -DCMAKE_PREFIX_PATH="${torch_prefix};${prefix}/usr"
jobs="$(nproc)"
cmake --build "${build}" --target weights_sync_gpu_test weights_sync_gpu_peer weights_sync_test \
  engine_gpu_test bench_rollout -j "${jobs}"

status=0
"${build}/tests/weights_sync/weights_sync_gpu_test" || status=1
# The CPU suite with the CUDA LibTorch: the Gloo path must not depend on which LibTorch it is.
"${build}/tests/weights_sync/weights_sync_test" || status=1
# The rollout engine on CUDA tensors.
"${build}/tests/actors/engine_gpu_test" || status=1
"${build}/bench/bench_rollout" --gpu ${CARAVAN_GPU_ROLLOUT_QUICK:+--quick} || status=1
echo "RESULT gpu_check=$([[ ${status} == 0 ]] && echo pass || echo fail)"
exit "${status}"
