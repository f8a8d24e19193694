# Runs inside ctest, before any test: the include file that caravan_discover_gtest_suites()
# (CaravanGtestSuites.cmake) generates calls caravan_add_gtest_suite_tests(), which registers one
# ctest per GoogleTest suite of EXECUTABLE. The suites are listed with `--gtest_list_tests` only
# when EXECUTABLE, this script or CONFIG_FILE is newer than TESTS_FILE (the cached add_test
# lines); otherwise TESTS_FILE is included as it is. A failing `--gtest_list_tests` stops ctest
# with the executable's output. An executable that is not built yet gets one failing ctest,
# TARGET_NOT_BUILT (as with gtest_discover_tests), so `ctest -R` still runs the built ones.

# The file name (in RESULTS_DIR) of the GoogleTest XML report of the ctest named TEST_NAME;
# scripts/check_skipped_tests.py derives the same name (gtest_results_file()).
function(caravan_gtest_results_file test_name results_dir out_var)
  string(REGEX REPLACE "[^A-Za-z0-9_.]" "-" file_name "${test_name}")
  set(${out_var} "${results_dir}/${file_name}.xml" PARENT_SCOPE)
endfunction()

function(caravan_add_gtest_suite_tests)
  cmake_parse_arguments(ARG "" "TARGET;EXECUTABLE;WORKING_DIRECTORY;TESTS_FILE;RESULTS_DIR;TIMEOUT;CONFIG_FILE"
                        "LABELS" ${ARGN})
  if(NOT EXISTS "${ARG_EXECUTABLE}")
    add_test("${ARG_TARGET}_NOT_BUILT" "${ARG_TARGET}_NOT_BUILT")
    return()
  endif()
  if(EXISTS "${ARG_TESTS_FILE}"
     AND NOT "${ARG_EXECUTABLE}" IS_NEWER_THAN "${ARG_TESTS_FILE}"
     AND NOT "${CMAKE_CURRENT_FUNCTION_LIST_FILE}" IS_NEWER_THAN "${ARG_TESTS_FILE}"
     AND NOT "${ARG_CONFIG_FILE}" IS_NEWER_THAN "${ARG_TESTS_FILE}")
    include("${ARG_TESTS_FILE}")
    return()
  endif()
  execute_process(
    COMMAND "${ARG_EXECUTABLE}" --gtest_list_tests
    WORKING_DIRECTORY "${ARG_WORKING_DIRECTORY}"
    TIMEOUT 120
    OUTPUT_VARIABLE listing
    ERROR_VARIABLE listing
    RESULT_VARIABLE result)
  if(NOT result EQUAL 0)
    message(FATAL_ERROR "${ARG_TARGET}: `${ARG_EXECUTABLE} --gtest_list_tests` failed (${result}):\n${listing}")
  endif()
  # Suite lines are "Suite." or "Prefix/Suite." (then "  # TypeParam = ..." for typed suites);
  # test lines are indented. Comments are dropped first: they may hold any character.
  string(REGEX REPLACE "[ \t]*#[^\n]*" "" listing "${listing}")
  string(REPLACE "\n" ";" lines "${listing}")
  set(script "")
  set(suites 0)
  foreach(line IN LISTS lines)
    if(NOT line MATCHES "^([A-Za-z_][A-Za-z0-9_/]*)\\.$")
      continue()
    endif()
    set(suite "${CMAKE_MATCH_1}")
    set(name "${ARG_TARGET}.${suite}")
    caravan_gtest_results_file("${name}" "${ARG_RESULTS_DIR}" results_file)
    string(APPEND script
      "add_test([==[${name}]==] [==[${ARG_EXECUTABLE}]==] [==[--gtest_filter=${suite}.*]==] "
      "[==[--gtest_output=xml:${results_file}]==])\n"
      "set_tests_properties([==[${name}]==] PROPERTIES WORKING_DIRECTORY [==[${ARG_WORKING_DIRECTORY}]==] "
      "LABELS [==[${ARG_LABELS}]==] TIMEOUT ${ARG_TIMEOUT})\n")
    math(EXPR suites "${suites} + 1")
  endforeach()
  if(suites EQUAL 0)
    message(FATAL_ERROR "${ARG_TARGET}: `${ARG_EXECUTABLE} --gtest_list_tests` listed no test suite:\n${listing}")
  endif()
  file(WRITE "${ARG_TESTS_FILE}" "${script}")
  include("${ARG_TESTS_FILE}")
endfunction()
