# caravan_discover_gtest_suites(TARGET LABELS label... TIMEOUT seconds)
#
# Registers one ctest per GoogleTest suite of the test executable TARGET, named TARGET.SUITE
# (e.g. learner_test.GrpoLoss), which runs `TARGET --gtest_filter=SUITE.*` in one process.
# A LibTorch test process spends about 0.6 s starting up, so one process per suite instead of
# one per test saves most of the suite's CPU time (scripts/test.sh, CI has 2 cores).
#
# Suites are discovered when ctest starts, like gtest_discover_tests(DISCOVERY_MODE PRE_TEST):
# test executables never run at build time. Each ctest writes GoogleTest's per-test report to
# CARAVAN_GTEST_RESULTS_DIR/TARGET.SUITE.xml ('/' of parameterised suites written as '-');
# scripts/check_skipped_tests.py reads these files to name every GTEST_SKIP'd test, because a
# suite's ctest passes when its tests pass or skip. A failing test fails its suite's ctest,
# and GoogleTest's summary in the ctest output names it.
set(CARAVAN_GTEST_RESULTS_DIR "${CMAKE_BINARY_DIR}/gtest-results" CACHE INTERNAL
    "Where each gtest suite's ctest writes its GoogleTest XML report")
set(CARAVAN_GTEST_SUITES_SCRIPT "${CMAKE_CURRENT_LIST_DIR}/CaravanGtestSuitesAddTests.cmake")

function(caravan_discover_gtest_suites target)
  cmake_parse_arguments(ARG "" "TIMEOUT" "LABELS" ${ARGN})
  if(NOT ARG_LABELS OR NOT ARG_TIMEOUT)
    message(FATAL_ERROR "caravan_discover_gtest_suites(${target}): LABELS and TIMEOUT are required")
  endif()
  set(base "${CMAKE_CURRENT_BINARY_DIR}/${target}_suites")
  file(GENERATE OUTPUT "${base}_include.cmake" CONTENT
"include(\"${CARAVAN_GTEST_SUITES_SCRIPT}\")
caravan_add_gtest_suite_tests(
  TARGET \"${target}\"
  EXECUTABLE \"$<TARGET_FILE:${target}>\"
  WORKING_DIRECTORY \"${CMAKE_CURRENT_BINARY_DIR}\"
  TESTS_FILE \"${base}_tests.cmake\"
  RESULTS_DIR \"${CARAVAN_GTEST_RESULTS_DIR}\"
  LABELS ${ARG_LABELS}
  TIMEOUT \"${ARG_TIMEOUT}\"
  CONFIG_FILE \"\${CMAKE_CURRENT_LIST_FILE}\")
")
  set_property(DIRECTORY APPEND PROPERTY TEST_INCLUDE_FILES "${base}_include.cmake")
endfunction()
