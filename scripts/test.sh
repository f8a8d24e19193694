#!/usr/bin/env bash
# Installs what Caravan needs, builds it, and runs the whole test suite (ctest). Its output ends
# with the build's and the tests' wall times and the slowest tests (scripts/test_durations.py;
# CI has 25 minutes for both on 2 cores), then the skipped tests, counted and named
# (scripts/check_skipped_tests.py, from ctest's JUnit file and the GoogleTest reports of the
# whole-suite ctests in BUILD/gtest-results); with CI=true a skipped test not named in
# tests/skip_allowlist.txt fails the run.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
build_dir=${CARAVAN_BUILD_DIR:-build}
jobs=${CARAVAN_JOBS:-$(nproc)}
cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCARAVAN_BUILD_TESTS=ON
build_started=$SECONDS
cmake --build "$build_dir" -j "$jobs"
build_seconds=$((SECONDS - build_started))
junit="$(cd "$build_dir" && pwd)/ctest-junit.xml"
gtest_results="$(cd "$build_dir" && pwd)/gtest-results"
rm -rf "$junit" "$gtest_results"
ctest_status=0
tests_started=$SECONDS
ctest --test-dir "$build_dir" --output-on-failure -j "$jobs" --output-junit "$junit" "$@" || ctest_status=$?
echo "wall time: build ${build_seconds} s, tests $((SECONDS - tests_started)) s (-j ${jobs})"
python3 scripts/test_durations.py "$junit" 15 || true
ci=()
[ "${CI:-}" = true ] && ci=(--ci)
skip_status=0
python3 scripts/check_skipped_tests.py "$junit" tests/skip_allowlist.txt --gtest-results "$gtest_results" "${ci[@]}" \
  || skip_status=$?
exit $((ctest_status != 0 ? ctest_status : skip_status))
