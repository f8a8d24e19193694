#!/usr/bin/env bash
# Installs what Caravan needs, builds it, and runs the whole test suite (ctest). Its output ends
# with the skipped tests, counted and named (scripts/check_skipped_tests.py); with CI=true a
# skipped test not named in tests/skip_allowlist.txt fails the run.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
build_dir=${CARAVAN_BUILD_DIR:-build}
jobs=${CARAVAN_JOBS:-$(nproc)}
cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCARAVAN_BUILD_TESTS=ON
cmake --build "$build_dir" -j "$jobs"
junit="$(cd "$build_dir" && pwd)/ctest-junit.xml"
rm -f "$junit"
ctest_status=0
ctest --test-dir "$build_dir" --output-on-failure -j "$jobs" --output-junit "$junit" "$@" || ctest_status=$?
ci=()
[ "${CI:-}" = true ] && ci=(--ci)
skip_status=0
python3 scripts/check_skipped_tests.py "$junit" tests/skip_allowlist.txt "${ci[@]}" || skip_status=$?
exit $((ctest_status != 0 ? ctest_status : skip_status))
