#!/usr/bin/env python3
"""Where a ctest run's time went: the sum of its tests' durations and the slowest tests.

Usage: test_durations.py JUNIT_XML [COUNT]

JUNIT_XML is the file `ctest --output-junit` wrote; COUNT (default 15) is how many of the slowest
tests to list. Output (stdout): "test time: S s in N tests" (the sum over tests: with ctest -jJ
the wall time is about S / J) and one line per slow test, slowest first, "  12.3 s  NAME".

Exit codes: 0 fine; 2 usage errors or an unreadable or malformed JUnit file (naming the file).
"""
import sys
import xml.etree.ElementTree as ElementTree


def read_durations(path):
    """Returns [(seconds, name)] of the JUnit file's test cases, in its order."""
    try:
        root = ElementTree.parse(path).getroot()
    except (OSError, ElementTree.ParseError) as error:
        raise ValueError(f"{path}: cannot read ctest's JUnit output: {error}") from error
    durations = []
    for testcase in root.iter("testcase"):
        try:
            seconds = float(testcase.get("time", "0"))
        except ValueError as error:
            raise ValueError(f"{path}: test '{testcase.get('name', '?')}': time is not a number") from error
        durations.append((seconds, testcase.get("name", "?")))
    return durations


def report(durations, count, out):
    total = sum(seconds for seconds, _ in durations)
    print(f"test time: {total:.1f} s in {len(durations)} tests", file=out)
    for seconds, name in sorted(durations, key=lambda item: -item[0])[:count]:
        print(f"  {seconds:6.1f} s  {name}", file=out)


def main(argv):
    if not 1 <= len(argv) <= 2 or (len(argv) == 2 and not argv[1].isdigit()):
        print("usage: test_durations.py JUNIT_XML [COUNT]", file=sys.stderr)
        return 2
    try:
        durations = read_durations(argv[0])
    except ValueError as error:
        print(f"test_durations: {error}", file=sys.stderr)
        return 2
    report(durations, int(argv[1]) if len(argv) == 2 else 15, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
