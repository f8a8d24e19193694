#!/usr/bin/env python3
"""Lists the tests a ctest run skipped and, under CI, fails the run for any not allow-listed.

Usage: check_skipped_tests.py JUNIT_XML ALLOWLIST [--gtest-results DIR] [--ci]

JUNIT_XML is the file `ctest --output-junit` wrote. A test counts as skipped when ctest did not
run it to a verdict: status "notrun" (SKIP_RETURN_CODE, SKIP_REGULAR_EXPRESSION, which
gtest_discover_tests sets for GTEST_SKIP) or "disabled" (the DISABLED property).

A ctest that runs a whole GoogleTest suite in one process (cmake/CaravanGtestSuites.cmake) passes
when its tests pass or skip, so its tests are read from the GoogleTest XML report it wrote into
DIR (the build's gtest-results/, named after the ctest: gtest_results_file()): a test there
counts as skipped when GoogleTest reports it skipped (GTEST_SKIP) or not run (DISABLED_). Such a
ctest that passed without leaving its report is an error, so no skip goes unseen.

ALLOWLIST names the tests that may skip in CI, one per line: a ctest test name or an fnmatch
pattern, whitespace, then the reason, which is required. Blank lines and lines starting with '#'
are ignored.

Output (stdout): "skipped tests: N of M" and one line per skipped test with why it skipped (and the
allow-list reason when listed). With --ci (scripts/test.sh passes it when CI=true) a skipped test
that the allow-list does not name is an error.

Exit codes: 0 fine; 1 a skipped test is not allow-listed under --ci; 2 usage errors, an
unreadable or malformed JUnit file or GoogleTest report, a whole-suite ctest that passed without
its report, or a malformed allow-list (naming the file and line).
"""
import fnmatch
import os
import re
import sys
import xml.etree.ElementTree as ElementTree

SKIPPED_STATUSES = ("notrun", "disabled")
REASON_WIDTH = 240
# GoogleTest's banner when a process runs a whole suite: "--gtest_filter=Suite.*".
WHOLE_SUITE_FILTER = re.compile(r"^Note: Google Test filter = [^\s]+\.\*$", re.MULTILINE)


class InputError(Exception):
    """Bad input; the message names the file (and line)."""


def read_allowlist(path):
    """Returns [(pattern, reason, line_number)] of the allow-list file."""
    try:
        with open(path, encoding="utf-8") as file:
            lines = file.read().splitlines()
    except OSError as error:
        raise InputError(f"{path}: cannot read the allow-list: {error.strerror}") from error
    entries = []
    seen = {}
    for number, line in enumerate(lines, start=1):
        text = line.strip()
        if not text or text.startswith("#"):
            continue
        fields = text.split(None, 1)
        if len(fields) < 2:
            raise InputError(f"{path}:{number}: '{fields[0]}' has no reason; write 'NAME REASON'")
        pattern, reason = fields
        if pattern in seen:
            raise InputError(f"{path}:{number}: '{pattern}' is already listed on line {seen[pattern]}")
        seen[pattern] = number
        entries.append((pattern, reason.strip(), number))
    return entries


def skip_reason(testcase):
    """Why ctest reports `testcase` as skipped: its <skipped> message and what the test said: a
    GTEST_SKIP message, else the first line of its output (where a script says why it skips)."""
    status = testcase.get("status")
    skipped = testcase.find("skipped")
    parts = [skipped.get("message", "") if skipped is not None else status]
    output = testcase.findtext("system-out", default="")
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    # GTEST_SKIP prints "FILE:LINE: Skipped" and the message on the next line(s).
    for index, line in enumerate(lines):
        if line.endswith(": Skipped") and index + 1 < len(lines):
            parts.append(lines[index + 1])
            break
    else:
        if lines and status != "disabled":
            parts.append(lines[0])
    reason = ": ".join(part for part in parts if part)
    return reason if len(reason) <= REASON_WIDTH else reason[: REASON_WIDTH - 3] + "..."


def gtest_results_file(results_dir, test_name):
    """The GoogleTest XML report of the ctest `test_name` (CaravanGtestSuitesAddTests.cmake's
    caravan_gtest_results_file() names it the same way)."""
    return os.path.join(results_dir, re.sub(r"[^A-Za-z0-9_.]", "-", test_name) + ".xml")


def gtest_skip_reason(testcase):
    """Why GoogleTest did not run `testcase` (a <testcase> of its XML report) to a verdict."""
    if testcase.get("result") == "suppressed" or testcase.get("status") == "notrun":
        return "disabled"
    message = testcase.find("skipped")
    lines = (message.get("message", "") if message is not None else "").splitlines()
    # The message is "FILE:LINE" and then what GTEST_SKIP said.
    reason = ": ".join(["GTEST_SKIP"] + [line.strip() for line in lines[1:] if line.strip()])
    return reason if len(reason) <= REASON_WIDTH else reason[: REASON_WIDTH - 3] + "..."


def read_gtest_report(path):
    """Returns ([(name, reason)] of skipped tests, number of tests) of a GoogleTest XML report."""
    try:
        root = ElementTree.parse(path).getroot()
    except (OSError, ElementTree.ParseError) as error:
        raise InputError(f"{path}: cannot read the GoogleTest XML report: {error}") from error
    skipped = []
    count = 0
    for testcase in root.iter("testcase"):
        count += 1
        if testcase.get("result") in ("skipped", "suppressed") or testcase.get("status") == "notrun":
            name = f"{testcase.get('classname', '?')}.{testcase.get('name', '?')}"
            skipped.append((name, gtest_skip_reason(testcase)))
    return skipped, count


def read_skipped(path, results_dir=None):
    """Returns ([(name, reason)] of skipped tests, number of tests) in the JUnit file's order; the
    tests of a whole-suite ctest come from its GoogleTest report in `results_dir`."""
    try:
        root = ElementTree.parse(path).getroot()
    except (OSError, ElementTree.ParseError) as error:
        raise InputError(f"{path}: cannot read ctest's JUnit output: {error}") from error
    skipped = []
    count = 0
    for testcase in root.iter("testcase"):
        name = testcase.get("name", "?")
        status = testcase.get("status")
        report = gtest_results_file(results_dir, name) if results_dir else None
        if report and status not in SKIPPED_STATUSES and os.path.exists(report):
            suite_skipped, suite_count = read_gtest_report(report)
            skipped += suite_skipped
            count += suite_count
            continue
        if report and status == "run" and WHOLE_SUITE_FILTER.search(testcase.findtext("system-out", default="")):
            raise InputError(f"{path}: ctest '{name}' ran a whole GoogleTest suite but left no report {report}")
        count += 1
        if status in SKIPPED_STATUSES:
            skipped.append((name, skip_reason(testcase)))
    return skipped, count


def allowed_by(name, entries):
    """The allow-list entry that names `name`, or None."""
    for pattern, reason, number in entries:
        if fnmatch.fnmatchcase(name, pattern):
            return pattern, reason, number
    return None


def check(junit_path, allowlist_path, ci, out, results_dir=None):
    """Writes the report to `out`; returns the exit code."""
    try:
        entries = read_allowlist(allowlist_path)
        skipped, count = read_skipped(junit_path, results_dir)
    except InputError as error:
        print(f"check_skipped_tests: {error}", file=out)
        return 2
    print(f"skipped tests: {len(skipped)} of {count}", file=out)
    unlisted = []
    for name, reason in skipped:
        entry = allowed_by(name, entries)
        if entry is None:
            unlisted.append(name)
            print(f"  {name} ({reason})", file=out)
        else:
            print(f"  {name} ({reason}) [allowed: {entry[1]}]", file=out)
    if ci and unlisted:
        print(f"error: CI=true and {len(unlisted)} skipped test(s) are not in {allowlist_path}: "
              + ", ".join(unlisted), file=out)
        print("  make them run (scripts/setup.sh installs what they need), or list each with the reason "
              "it may skip", file=out)
        return 1
    return 0


def main(argv):
    args = [arg for arg in argv if arg != "--ci"]
    results_dir = None
    if "--gtest-results" in args:
        index = args.index("--gtest-results")
        results_dir = args[index + 1] if index + 1 < len(args) else None
        args = args[:index] + args[index + 2:]
    if len(args) != 2 or any(arg.startswith("--") for arg in args) or ("--gtest-results" in argv and not results_dir):
        print("usage: check_skipped_tests.py JUNIT_XML ALLOWLIST [--gtest-results DIR] [--ci]", file=sys.stderr)
        return 2
    return check(args[0], args[1], "--ci" in argv, sys.stdout, results_dir)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
