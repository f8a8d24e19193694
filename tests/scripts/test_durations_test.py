"""Tests of scripts/test_durations.py on a JUnit file of the shape ctest writes."""
import io
import os
import pathlib
import sys
import tempfile
import unittest

SOURCE_DIR = pathlib.Path(os.environ.get("CARAVAN_SOURCE_DIR", pathlib.Path(__file__).resolve().parents[2]))
sys.path.insert(0, str(SOURCE_DIR / "scripts"))
import test_durations  # noqa: E402

JUNIT = """<?xml version="1.0" encoding="UTF-8"?>
<testsuite name="caravan" tests="3">
  <testcase name="Fast.One" classname="Fast.One" time="0.25" status="run"/>
  <testcase name="LearningGuard.Slow" classname="LearningGuard.Slow" time="61.5" status="run"/>
  <testcase name="Middle.Two" classname="Middle.Two" time="3" status="run"/>
</testsuite>
"""


class TestDurationsTest(unittest.TestCase):
    def write(self, text):
        file = tempfile.NamedTemporaryFile("w", suffix=".xml", delete=False)
        file.write(text)
        file.close()
        self.addCleanup(os.remove, file.name)
        return file.name

    def test_sums_the_times_and_lists_the_slowest_first(self):
        out = io.StringIO()
        test_durations.report(test_durations.read_durations(self.write(JUNIT)), 2, out)
        self.assertEqual(out.getvalue().splitlines(),
                         ["test time: 64.8 s in 3 tests", "    61.5 s  LearningGuard.Slow", "     3.0 s  Middle.Two"])

    def test_a_malformed_file_is_an_error_naming_it(self):
        path = self.write("<testsuite><testcase")
        with self.assertRaises(ValueError) as raised:
            test_durations.read_durations(path)
        self.assertIn(path, str(raised.exception))

    def test_a_time_that_is_not_a_number_names_the_test(self):
        path = self.write('<testsuite><testcase name="A.B" time="soon"/></testsuite>')
        with self.assertRaises(ValueError) as raised:
            test_durations.read_durations(path)
        self.assertIn("'A.B'", str(raised.exception))

    def test_usage_errors_exit_two(self):
        self.assertEqual(test_durations.main([]), 2)
        self.assertEqual(test_durations.main(["a.xml", "many"]), 2)


if __name__ == "__main__":
    unittest.main()
