"""Tests of scripts/check_skipped_tests.py: on JUnit files of the shape ctest writes, and end to
end on a real ctest run of a scratch project with a passing, a skipping (exit 77 and GTEST_SKIP
style output) and a disabled test."""
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


if __name__ == "__main__":
    unittest.main()
