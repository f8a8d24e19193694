#!/usr/bin/env bash
# Installs what Caravan needs, builds the `caravan` binary and runs the embedded default:
# SFT + GRPO of a tiny model on arithmetic, printing held-out accuracy before and after RL.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
build_dir=${CARAVAN_BUILD_DIR:-build}
cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo
cmake --build "$build_dir" -j "$(nproc)" --target caravan
exec "$build_dir/apps/caravan" run configs/quickstart.toml "$@"
