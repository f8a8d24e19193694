#!/usr/bin/env python3
"""Converts Math-Verify's regression cases (huggingface/Math-Verify, tests/) into
math_verify_cases.jsonl and MATH_VERIFY_DIFFERENCES.md next to this script.

    python3 tests/data/math/make_math_verify_cases.py PATH/TO/Math-Verify/tests

Reads test_all.py and test_yujianll.py with Python's ast module (no Math-Verify install needed)
and converts every (gold, pred, expected) case of their pytest parametrize tables. The output is
committed: nothing is downloaded when the tests run. Deterministic; no dependencies.

Mapping to the Caravan math verifier (rewards/math/math_verifier.h):
  gold -> ground_truth, pred -> completion, expected 1/0 -> "ok"/"wrong";
  match_types ["latex"] -> extraction [boxed, answer_sentence, math_span] (no bare numbers),
  ["expr"] -> [hashes, answer_sentence, last_math_item], both (the default) -> the default order;
  precision p (Math-Verify rounds floats to p digits) -> numeric_tolerance 10^-p, but only where a
  test passes a precision other than Math-Verify's default 6: Caravan's default is exact, so the
  default-precision cases test exactness.
test_precision calls Math-Verify's grader directly instead of a parametrize table; its five
checks are written out below. The other test files test parse() internals (fallback strings,
extraction modes, timeouts, a CSV evaluator) rather than gold/pred verdicts and are not converted.
"""
import ast
import json
import math
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
FILES = ["test_all.py", "test_yujianll.py"]
MV_DEFAULT_PRECISION = 6

EXTRACTION = {
    ("latex", "expr"): None,
    ("latex",): ["boxed", "answer_sentence", "math_span"],
    ("expr",): ["hashes", "answer_sentence", "last_math_item"],
}

# test_precision: sympy_expr_eq(gold, pred, float_rounding=r) and one compare_strings call.
PRECISION_CASES = [
    ("\\frac{1}{3}", "0.333", 1, 3),
    ("\\frac{1}{3}", "0.333", 0, 4),
    ("\\frac{1}{3}+1", "1.333", 1, 3),
    ("\\frac{1}{3}+1", "1.333", 0, 4),
    ("$\\frac{1}{3}$", "0.3333$", 1, 4),
]

# Where Caravan's verdict intentionally differs from Math-Verify's expected one: case id -> why.
DIFFERENCES = {
    "test_all.py::test_matrix_extraction[5]":
        "matrix arithmetic (a sum of two matrix literals) is not evaluated; the answer must be the matrix itself",
    "test_all.py::test_matrix_extraction[6]":
        "matrix arithmetic (a product of two matrix literals) is not evaluated; the answer must be the matrix itself",
    "test_all.py::test_complex_math_expressions[0]":
        "Math-Verify rounds to 6 digits by default, a tolerance: 0.0833333333333333 is not 1/12. A source that "
        "wants rounded decimals sets numeric_tolerance (the cases with an explicit precision are converted with it "
        "and agree)",
    "test_all.py::test_complex_math_expressions[3]":
        "functions (\\tan, \\sec, \\sin, \\log) are not evaluated: equality of transcendental functions cannot "
        "be proven by exact evaluation, so an identity like tan^2+1 = sec^2 is only accepted as identical text",
    "test_all.py::test_set_rel_assymetry[3]":
        "the one answer we accept that Math-Verify rejects: with allow_set_relation_comp=False Math-Verify compares "
        "an interval-membership ground truth with a double inequality only in one direction; Caravan has no such "
        "switch and reads x \\in [-2,7] and -2 \\le x \\le 7 as the same set both ways (case [2], the same pair "
        "with the switch on, agrees)",
    "test_yujianll.py::test_string_extraction[5]":
        "\\sum is not evaluated: the two sums are equal only up to reordering a product inside the summand, which "
        "text comparison cannot see",
}


def call_config(function):
    """(match_types, precision, allow_set_relation_comp) of the compare call in a test body; a
    value is a str when it names a parametrize argument."""
    match_types, precision, allow = ["latex", "expr"], MV_DEFAULT_PRECISION, False
    for node in ast.walk(function):
        if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "compare_strings":
            for keyword in node.keywords:
                value = keyword.value
                resolved = value.id if isinstance(value, ast.Name) else ast.literal_eval(value)
                if keyword.arg == "match_types":
                    match_types = resolved
                elif keyword.arg == "precision":
                    precision = resolved
                elif keyword.arg == "allow_set_relation_comp":
                    allow = resolved
    return match_types, precision, allow


def parametrized_cases(path):
    tree = ast.parse(open(path, encoding="utf-8").read())
    for function in tree.body:
        if not isinstance(function, ast.FunctionDef):
            continue
        for decorator in function.decorator_list:
            if not (isinstance(decorator, ast.Call) and getattr(decorator.func, "attr", "") == "parametrize"):
                continue
            names = [n.strip() for n in ast.literal_eval(decorator.args[0]).split(",")]
            rows = decorator.args[1]
            config = call_config(function)
            for index, row in enumerate(rows.elts):
                values = [eval(compile(ast.Expression(e), path, "eval"), {"math": math}) for e in row.elts]
                yield function.name, index, dict(zip(names, values)), config


def record(case_id, gold, pred, expected, match_types, precision, note=None):
    out = {"id": case_id, "ground_truth": gold, "completion": pred, "expected": "ok" if expected else "wrong"}
    extraction = EXTRACTION[tuple(match_types)]
    if extraction is not None:
        out["extraction"] = extraction
    if precision != MV_DEFAULT_PRECISION:
        out["numeric_tolerance"] = float(f"1e-{precision}")
    if note:
        out["note"] = note
    if case_id in DIFFERENCES:
        out["difference"] = DIFFERENCES[case_id]
    return out


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    tests_dir = sys.argv[1]
    cases = []
    for name in FILES:
        for function, index, args, (match_types, precision, allow) in parametrized_cases(os.path.join(tests_dir, name)):
            resolve = lambda v: args[v] if isinstance(v, str) else v
            note = None
            if "allow_set_relation_comp" in args:
                note = f"allow_set_relation_comp={args['allow_set_relation_comp']}"
            expected = args.get("expected", args.get("result"))
            cases.append(record(f"{name}::{function}[{index}]", args["gold"], args["pred"], expected,
                                resolve(match_types), resolve(precision), note))
    for index, (gold, pred, expected, precision) in enumerate(PRECISION_CASES):
        cases.append(record(f"test_all.py::test_precision[{index}]", gold, pred, expected, ["latex", "expr"], precision))
    missing = set(DIFFERENCES) - {c["id"] for c in cases}
    if missing:
        sys.exit(f"DIFFERENCES names unknown cases: {sorted(missing)}")
    with open(os.path.join(HERE, "math_verify_cases.jsonl"), "w", encoding="utf-8") as f:
        for case in cases:
            f.write(json.dumps(case, ensure_ascii=False) + "\n")
    write_differences(cases)
    print(f"{len(cases)} cases, {len(DIFFERENCES)} intentional differences")


def write_differences(cases):
    by_id = {c["id"]: c for c in cases}
    short = lambda s: (s if len(s) <= 90 else s[:40] + " … " + s[-40:]).replace("|", "\\|").replace("\n", "\\n")
    with open(os.path.join(HERE, "MATH_VERIFY_DIFFERENCES.md"), "w", encoding="utf-8") as f:
        f.write("# Where the math verifier intentionally differs from Math-Verify\n\n"
                "Generated by `make_math_verify_cases.py` (do not edit by hand) from Math-Verify's own regression "
                "cases (huggingface/Math-Verify, `tests/test_all.py` and `tests/test_yujianll.py`), converted to "
                "`math_verify_cases.jsonl`. The `MathVerifyCases` test (tests/rewards/math_cases_test.cpp) requires "
                "at least 90% agreement with Math-Verify's expected verdicts, at most one case we accept that "
                "Math-Verify rejects, and that every disagreement is listed here (and nothing else is).\n\n"
                f"Cases: {len(cases)}; intentional differences: {len(DIFFERENCES)}.\n\n"
                "Conversion: `gold` is the ground truth, `pred` the completion. A test's `match_types` picks the "
                "extraction rules (`latex` only: boxed, answer sentence, last math span; `expr` only: ####, answer "
                "sentence, last math item; both: the default order). A test that passes a `precision` p other than "
                "Math-Verify's default 6 is converted with `numeric_tolerance` 10^-p (Math-Verify rounds to p digits, "
                "Caravan compares within a relative tolerance); every other case is compared exactly, so Math-Verify's "
                "default rounding to 6 digits shows up below as a difference. `test_precision` calls Math-Verify's "
                "grader directly; its five checks are written out in the script.\n\n"
                "Not converted: `test_mixed_number_extraction.py`, `test_failed_latex_span.py`, `test_timeout.py` and "
                "`test_evaluate_model_outputs.py` test Math-Verify's parser and tooling (the values and fallback "
                "strings `parse()` returns, extraction modes, timeouts, a CSV evaluator) rather than gold/prediction "
                "verdicts. Of the mixed-number file's checks that can be read as verdicts (68, converted by hand for "
                "this note), Caravan agrees on 56. The 8 answers we accept and Math-Verify rejects are one policy: "
                "\"4 4/9%\" (and \"pct\", \"percent\", \"percentage\") against the ground truth 40/9. Math-Verify "
                "reads a percent sign in plain text as /100 only; Caravan accepts p% for a ground truth p or p/100, "
                "because MATH-style ground truths of percent questions often omit the sign (\"20\" for \"20\\%\"; "
                "tests/data/math/cases.jsonl and Math-Verify's own `test_math_extraction_edge_cases[13]` rely on it). "
                "The other 4 are answers we reject: a mixed number with a spaced thousands group (\"1 000 4/9\"), "
                "\"4 4/9 2\" (a run of numbers is not read as its last one), and \"11\\n5/6\" against 5 (twice).\n\n"
                "| case | ground truth | completion | Math-Verify | ours | why |\n|---|---|---|---|---|---|\n")
        for case_id, why in DIFFERENCES.items():
            c = by_id[case_id]
            ours = "wrong" if c["expected"] == "ok" else "ok"
            f.write(f"| {case_id} | `{short(c['ground_truth'])}` | `{short(c['completion'])}` | {c['expected']} | "
                    f"{ours} | {why} |\n")


if __name__ == "__main__":
    main()
