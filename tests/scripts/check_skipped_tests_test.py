"""Tests of scripts/check_skipped_tests.py: on JUnit files of the shape ctest writes, end to end on
a real ctest run of a scratch project with a passing, a skipping (exit 77 and GTEST_SKIP style
output) and a disabled test, and on a real GoogleTest binary registered one ctest per suite by
cmake/CaravanGtestSuites.cmake (skips read from its XML reports, a failing test named)."""
import io
import os
import pathlib
import subprocess
import sys
import tempfile
import textwrap
import unittest

SOURCE_DIR = pathlib.Path(os.environ.get("CARAVAN_SOURCE_DIR", pathlib.Path(__file__).resolve().parents[2]))
sys.path.insert(0, str(SOURCE_DIR / "scripts"))
import check_skipped_tests  # noqa: E402

# The shape of `ctest --output-junit` (CMake 3.25).
JUNIT = """<?xml version="1.0" encoding="UTF-8"?>
<testsuite name="caravan" tests="4" failures="0" disabled="1" skipped="2">
  <testcase name="Math.Passes" classname="Math.Passes" time="0.01" status="run">
    <system-out>[       OK ] Math.Passes</system-out>
  </testcase>
  <testcase name="SandboxSafetyTest.ForkBombIsDenied" classname="SandboxSafetyTest.ForkBombIsDenied" time="0.01" status="notrun">
    <skipped message="SKIP_REGULAR_EXPRESSION_MATCHED"/>
    <system-out>[ RUN      ] SandboxSafetyTest.ForkBombIsDenied
tests/rewards/code/sandbox_safety_test.cpp:70: Skipped
no bubblewrap sandbox on this host: /usr/bin/bwrap: No such file or directory
[  SKIPPED ] SandboxSafetyTest.ForkBombIsDenied (0 ms)
</system-out>
  </testcase>
  <testcase name="Architectures/HfFixture.LogitsMatchTransformers/llama" classname="x" time="0" status="notrun">
    <skipped message="SKIP_REGULAR_EXPRESSION_MATCHED"/>
    <system-out>hf_fixture_test.cpp:37: Skipped
tests/fixtures/hf/llama has no fixture
</system-out>
  </testcase>
  <testcase name="Old.Disabled" classname="Old.Disabled" time="0" status="disabled">
    <system-out>Disabled</system-out>
  </testcase>
</testsuite>
"""

ALLOW_HF = "# comment\n\nArchitectures/HfFixture.LogitsMatchTransformers/*  fixtures need transformers\n"


class CheckSkippedTestsTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.TemporaryDirectory()
        self.path = pathlib.Path(self.dir.name)
        self.junit = self.path / "junit.xml"
        self.junit.write_text(JUNIT)

    def tearDown(self):
        self.dir.cleanup()

    def run_check(self, allowlist_text, ci, junit=None):
        allowlist = self.path / "allow.txt"
        allowlist.write_text(allowlist_text)
        out = io.StringIO()
        code = check_skipped_tests.check(str(junit or self.junit), str(allowlist), ci, out)
        return code, out.getvalue()

    def test_outside_ci_lists_every_skip_with_its_reason_and_passes(self):
        code, out = self.run_check(ALLOW_HF, ci=False)
        self.assertEqual(code, 0, out)
        self.assertTrue(out.startswith("skipped tests: 3 of 4\n"), out)
        self.assertIn("  SandboxSafetyTest.ForkBombIsDenied (SKIP_REGULAR_EXPRESSION_MATCHED: no bubblewrap sandbox "
                      "on this host: /usr/bin/bwrap: No such file or directory)\n", out)
        self.assertIn("  Architectures/HfFixture.LogitsMatchTransformers/llama (SKIP_REGULAR_EXPRESSION_MATCHED: "
                      "tests/fixtures/hf/llama has no fixture) [allowed: fixtures need transformers]\n", out)
        self.assertIn("  Old.Disabled (disabled)\n", out)
        self.assertNotIn("Math.Passes", out)

    def test_under_ci_an_unlisted_skip_fails_naming_it(self):
        code, out = self.run_check(ALLOW_HF, ci=True)
        self.assertEqual(code, 1, out)
        self.assertIn("error: CI=true and 2 skipped test(s) are not in ", out)
        self.assertIn("SandboxSafetyTest.ForkBombIsDenied, Old.Disabled", out)

    def test_under_ci_listed_skips_pass(self):
        allow = ALLOW_HF + "SandboxSafetyTest.ForkBombIsDenied  needs root\nOld.Disabled  kept for reference\n"
        code, out = self.run_check(allow, ci=True)
        self.assertEqual(code, 0, out)

    def test_an_entry_without_a_reason_is_an_error_naming_its_line(self):
        code, out = self.run_check("# x\nOld.Disabled\n", ci=False)
        self.assertEqual(code, 2)
        self.assertIn("allow.txt:2: 'Old.Disabled' has no reason", out)

    def test_a_duplicate_entry_is_an_error(self):
        code, out = self.run_check("A.b  one\nA.b  two\n", ci=False)
        self.assertEqual(code, 2)
        self.assertIn("allow.txt:2: 'A.b' is already listed on line 1", out)

    def test_a_missing_or_broken_junit_file_is_an_error(self):
        code, out = self.run_check(ALLOW_HF, ci=False, junit=self.path / "absent.xml")
        self.assertEqual(code, 2)
        self.assertIn("absent.xml: cannot read ctest's JUnit output", out)
        broken = self.path / "broken.xml"
        broken.write_text("<testsuite><testcase")
        code, out = self.run_check(ALLOW_HF, ci=False, junit=broken)
        self.assertEqual(code, 2)

    def test_no_skips_says_zero(self):
        junit = self.path / "clean.xml"
        junit.write_text('<testsuite><testcase name="A.b" status="run"/></testsuite>')
        code, out = self.run_check(ALLOW_HF, ci=True, junit=junit)
        self.assertEqual((code, out), (0, "skipped tests: 0 of 1\n"))


class RealCtestRunTest(unittest.TestCase):
    """What scripts/test.sh does, on a scratch project, with the cmake and ctest of the build."""

    def test_a_skipping_test_fails_ci_unless_allow_listed(self):
        cmake = os.environ.get("CARAVAN_CMAKE", "cmake")
        ctest = os.environ.get("CARAVAN_CTEST", "ctest")
        with tempfile.TemporaryDirectory() as scratch:
            root = pathlib.Path(scratch)
            (root / "CMakeLists.txt").write_text(textwrap.dedent("""\
                cmake_minimum_required(VERSION 3.25)
                project(scratch NONE)
                enable_testing()
                add_test(NAME passes COMMAND sh -c "exit 0")
                add_test(NAME registry_down COMMAND sh -c "echo 'npm registry unreachable'; echo 'npm error: see the log'; exit 77")
                set_tests_properties(registry_down PROPERTIES SKIP_RETURN_CODE 77)
                add_test(NAME Gtest.Skips COMMAND sh -c "echo 'x.cpp:3: Skipped'; echo 'no sandbox'; echo '[  SKIPPED ] Gtest.Skips'")
                set_tests_properties(Gtest.Skips PROPERTIES SKIP_REGULAR_EXPRESSION "\\\\[  SKIPPED \\\\]")
                """))
            build = root / "build"
            subprocess.run([cmake, "-S", str(root), "-B", str(build)], check=True, capture_output=True)
            junit = build / "junit.xml"
            run = subprocess.run([ctest, "--test-dir", str(build), "--output-junit", str(junit)], capture_output=True)
            self.assertEqual(run.returncode, 0, run.stdout)  # ctest itself calls skips a success
            allow = root / "allow.txt"
            allow.write_text("registry_down  the scratch registry is down on purpose\n")
            out = io.StringIO()
            self.assertEqual(check_skipped_tests.check(str(junit), str(allow), True, out), 1, out.getvalue())
            self.assertIn("skipped tests: 2 of 3\n", out.getvalue())
            self.assertIn("  Gtest.Skips (SKIP_REGULAR_EXPRESSION_MATCHED: no sandbox)\n", out.getvalue())
            self.assertIn("  registry_down (SKIP_RETURN_CODE=77: npm registry unreachable) [allowed: ", out.getvalue())
            allow.write_text("registry_down  down on purpose\nGtest.*  no sandbox on purpose\n")
            out = io.StringIO()
            self.assertEqual(check_skipped_tests.check(str(junit), str(allow), True, out), 0, out.getvalue())
            script = subprocess.run([sys.executable, str(SOURCE_DIR / "scripts" / "check_skipped_tests.py"),
                                     str(junit), str(allow), "--ci"], capture_output=True, text=True)
            self.assertEqual(script.returncode, 0, script.stdout + script.stderr)


# A real GoogleTest binary: a passing, a skipping and a disabled test, a parameterised suite with
# one skipping instance, and a test that fails when SCRATCH_FAIL is set.
GTEST_SOURCE = """\
#include <cstdlib>
#include <gtest/gtest.h>
TEST(Math, Passes) { EXPECT_EQ(2 + 2, 4); }
TEST(Math, Skips) { GTEST_SKIP() << "no sandbox on this host"; }
TEST(Math, DISABLED_Old) {}
class Parity : public testing::TestWithParam<int> {};
TEST_P(Parity, Even) {
  if (GetParam() == 3) GTEST_SKIP() << "three is odd";
  EXPECT_EQ(GetParam() % 2, 0);
}
INSTANTIATE_TEST_SUITE_P(Numbers, Parity, testing::Values(2, 3));
TEST(Env, FailsWhenAsked) { EXPECT_EQ(std::getenv("SCRATCH_FAIL"), nullptr) << "asked to fail"; }
"""


class GtestSuitesRunTest(unittest.TestCase):
    """One ctest per GoogleTest suite (cmake/CaravanGtestSuites.cmake): skips are still named one
    by one, from the XML reports; a failing test fails its suite's ctest and is named."""

    def test_skips_inside_a_suite_are_named_and_a_failure_is_named(self):
        cmake = os.environ.get("CARAVAN_CMAKE", "cmake")
        ctest = os.environ.get("CARAVAN_CTEST", "ctest")
        with tempfile.TemporaryDirectory() as scratch:
            root = pathlib.Path(scratch)
            (root / "scratch_test.cpp").write_text(GTEST_SOURCE)
            (root / "CMakeLists.txt").write_text(textwrap.dedent(f"""\
                cmake_minimum_required(VERSION 3.25)
                project(scratch CXX)
                list(APPEND CMAKE_MODULE_PATH "{SOURCE_DIR / 'cmake'}")
                find_package(GTest REQUIRED)
                include(CaravanGtestSuites)
                enable_testing()
                add_executable(scratch_test scratch_test.cpp)
                target_link_libraries(scratch_test PRIVATE GTest::gtest GTest::gtest_main)
                caravan_discover_gtest_suites(scratch_test LABELS unit TIMEOUT 60)
                """))
            build = root / "build"
            subprocess.run([cmake, "-S", str(root), "-B", str(build)], check=True, capture_output=True)
            # Not built yet: one failing placeholder, as gtest_discover_tests registers.
            unbuilt = subprocess.run([ctest, "--test-dir", str(build), "-N"], capture_output=True, text=True)
            self.assertIn("scratch_test_NOT_BUILT", unbuilt.stdout)
            subprocess.run([cmake, "--build", str(build)], check=True, capture_output=True)
            junit = build / "junit.xml"
            results = build / "gtest-results"
            listing = subprocess.run([ctest, "--test-dir", str(build), "-N"], capture_output=True, text=True)
            for name in ("scratch_test.Math", "scratch_test.Numbers/Parity", "scratch_test.Env"):
                self.assertIn(name, listing.stdout)
            self.assertIn("Total Tests: 3", listing.stdout)
            run = subprocess.run([ctest, "--test-dir", str(build), "--output-junit", str(junit)],
                                 capture_output=True, text=True)
            self.assertEqual(run.returncode, 0, run.stdout)
            allow = root / "allow.txt"
            allow.write_text("Math.Skips  no sandbox here on purpose\n")
            out = io.StringIO()
            self.assertEqual(check_skipped_tests.check(str(junit), str(allow), True, out, str(results)), 1,
                             out.getvalue())
            self.assertIn("skipped tests: 3 of 6\n", out.getvalue())
            self.assertIn("  Math.Skips (GTEST_SKIP: no sandbox on this host) [allowed: ", out.getvalue())
            self.assertIn("  Math.DISABLED_Old (disabled)\n", out.getvalue())
            self.assertIn("  Numbers/Parity.Even/1 (GTEST_SKIP", out.getvalue())
            self.assertIn("are not in " + str(allow) + ": Math.DISABLED_Old, Numbers/Parity.Even/1", out.getvalue())
            # Without its report a passing whole-suite ctest could hide a skip: an error.
            (results / "scratch_test.Numbers-Parity.xml").unlink()
            out = io.StringIO()
            self.assertEqual(check_skipped_tests.check(str(junit), str(allow), False, out, str(results)), 2)
            self.assertIn("ctest 'scratch_test.Numbers/Parity' ran a whole GoogleTest suite but left no report",
                          out.getvalue())
            failing = subprocess.run([ctest, "--test-dir", str(build), "--output-on-failure"],
                                     capture_output=True, text=True, env=dict(os.environ, SCRATCH_FAIL="1"))
            self.assertNotEqual(failing.returncode, 0, failing.stdout)
            self.assertIn("scratch_test.Env (Failed)", failing.stdout)
            self.assertIn("[  FAILED  ] Env.FailsWhenAsked", failing.stdout)


if __name__ == "__main__":
    unittest.main()
