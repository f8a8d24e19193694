#!/usr/bin/env python3
"""Generates cases.jsonl (model output, ground truth, expected verdict) for the "math" verifier
and HENDRYCKS_DIFFERENCES.md (where our verdict differs from hendrycks' MATH is_equiv).

Run from anywhere: python3 tests/data/math/make_cases.py. Deterministic; no dependencies.
Each answer pair is wrapped in several output formats (\\boxed, \\fbox, "The answer is", ####,
last number) and ground-truth forms (bare, $...$, full solution with \\boxed, GSM8K ####).
"""
import json
import os

HERE = os.path.dirname(os.path.abspath(__file__))

# (category, model answer, ground-truth answer, expected, why-we-differ-from-hendrycks or "")
PAIRS = [
    # integers
    ("integer", "42", "42", "ok", ""),
    ("integer", "042", "42", "ok", "leading zeros are numerically insignificant"),
    ("integer", "41", "42", "wrong", ""),
    ("integer", "-7", "-7", "ok", ""),
    ("integer", "7", "-7", "wrong", ""),
    ("integer", "+7", "7", "ok", "a leading '+' sign is a number, not text"),
    ("integer", "\u22125", "-5", "ok", "U+2212 minus sign is read as '-'"),
    # thousands separators
    ("thousands", "1,000", "1000", "ok", "thousands separators removed for whole-number answers"),
    ("thousands", "1,000,000", "1000000", "ok", "thousands separators removed for whole-number answers"),
    ("thousands", "1{,}000", "1000", "ok", "LaTeX {,} thousands separator removed"),
    ("thousands", "12,345.5", "12345.5", "ok", "thousands separators removed for whole-number answers"),
    ("thousands", "10,00", "1000", "wrong", ""),
    ("thousands", "1,001", "1000", "wrong", ""),
    # decimals
    ("decimal", "0.5", "\\frac{1}{2}", "ok", ""),
    ("decimal", "0.50", "0.5", "ok", "trailing zeros are numerically insignificant"),
    ("decimal", ".5", "0.5", "ok", ""),
    ("decimal", "2.0", "2", "ok", "2.0 and 2 are the same number"),
    ("decimal", "0.25", "\\frac14", "ok", "decimals compare numerically with fractions (hendrycks only special-cases 0.5)"),
    ("decimal", "0.75", "\\frac{3}{4}", "ok", "decimals compare numerically with fractions (hendrycks only special-cases 0.5)"),
    ("decimal", "0.3333333", "\\frac{1}{3}", "wrong", ""),
    ("decimal", "0.333", "\\frac{1}{3}", "wrong", ""),
    ("decimal", "2.5", "2.05", "wrong", ""),
    ("decimal", "3.5", "\\frac{7}{2}", "ok", "decimals compare numerically with fractions"),
    # fractions and 0.5 / \frac12 / 1/2
    ("fraction", "\\frac{14}{3}", "\\frac{14}{3}", "ok", ""),
    ("fraction", "\\dfrac{14}{3}", "\\frac{14}{3}", "ok", ""),
    ("fraction", "\\tfrac{14}{3}", "\\frac{14}{3}", "ok", ""),
    ("fraction", "14/3", "\\frac{14}{3}", "ok", ""),
    ("fraction", "\\frac{28}{6}", "\\frac{14}{3}", "ok", "unreduced fractions are equal as numbers"),
    ("fraction", "\\frac{3}{14}", "\\frac{14}{3}", "wrong", ""),
    ("fraction", "\\frac12", "\\frac{1}{2}", "ok", ""),
    ("fraction", "1/2", "0.5", "ok", "1/2 and 0.5 are the same number"),
    ("fraction", "\\frac{1}{2}", "\\frac{1}{3}", "wrong", ""),
    ("fraction", "-\\frac{1}{2}", "\\frac{-1}{2}", "ok", "sign placement does not matter numerically"),
    ("fraction", "\\frac{-1}{2}", "-0.5", "ok", "sign placement does not matter numerically"),
    ("fraction", "\\frac{1}{2}", "-\\frac{1}{2}", "wrong", ""),
    ("fraction", "\\frac{10}{4}", "2.5", "ok", "fractions compare numerically with decimals"),
    # mixed numbers
    ("mixed", "4\\frac{2}{3}", "\\frac{14}{3}", "ok", "mixed number 4 2/3 = 14/3"),
    ("mixed", "4 \\frac{2}{3}", "\\frac{14}{3}", "ok", "mixed number 4 2/3 = 14/3"),
    ("mixed", "4\\frac{1}{3}", "\\frac{14}{3}", "wrong", ""),
    ("mixed", "2\\frac{1}{2}", "2.5", "ok", "mixed number 2 1/2 = 2.5"),
    ("mixed", "-1\\frac{1}{2}", "-\\frac{3}{2}", "ok", "mixed number -1 1/2 = -3/2"),
    # scientific notation
    ("scientific", "1.5e3", "1500", "ok", "scientific notation is a number"),
    ("scientific", "1.5\\times10^3", "1500", "ok", "scientific notation is a number"),
    ("scientific", "1.5 \\cdot 10^{3}", "1500", "ok", "scientific notation is a number"),
    ("scientific", "3\\times10^{-2}", "0.03", "ok", "scientific notation is a number"),
    ("scientific", "1.5e4", "1500", "wrong", ""),
    ("scientific", "6.02\\times10^{23}", "6.02e23", "ok", "scientific notation is a number"),
    ("scientific", "2E-3", "0.002", "ok", "scientific notation is a number"),
    # radicals
    ("radical", "2\\sqrt{2}", "\\sqrt{8}", "ok", "radicals compare by value"),
    ("radical", "\\sqrt2", "\\sqrt{2}", "ok", ""),
    ("radical", "\\frac{\\sqrt{3}}{3}", "\\frac{1}{\\sqrt3}", "ok", "rationalised and unrationalised forms are equal"),
    ("radical", "\\sqrt{2}", "2", "wrong", ""),
    ("radical", "3\\sqrt{5}", "\\sqrt{45}", "ok", "radicals compare by value"),
    ("radical", "\\sqrt[3]{8}", "2", "ok", "radicals compare by value"),
    ("radical", "1.41421356", "\\sqrt{2}", "wrong", ""),
    ("radical", "1.414", "\\sqrt2", "wrong", ""),
    ("radical", "\\sqrt{16}", "4", "ok", "radicals compare by value"),
    ("radical", "2+\\sqrt{3}", "\\sqrt{3}+2", "ok", "sums compare by value, not by text order"),
    ("radical", "2-\\sqrt{3}", "2+\\sqrt{3}", "wrong", ""),
    # pi
    ("pi", "2\\pi", "2\\pi", "ok", ""),
    ("pi", "\\pi \\cdot 2", "2\\pi", "ok", "products compare by value"),
    ("pi", "\\frac{\\pi}{2}", "\\frac\\pi2", "ok", "hendrycks' shorthand fix reads one character per argument, so \\frac\\pi2 becomes \\frac{\\}{p}i2; we read a command argument"),
    ("pi", "3.14159265", "\\pi", "wrong", ""),
    ("pi", "3.14", "\\pi", "wrong", ""),
    ("pi", "6\\pi", "3\\pi", "wrong", ""),
    ("pi", "\u03c0", "\\pi", "ok", "Unicode pi is read as \\pi"),
    ("pi", "2\u03c0", "2\\pi", "ok", "Unicode pi is read as \\pi"),
    ("pi", "\\frac{2\\pi}{3}", "\\frac{2}{3}\\pi", "ok", "products compare by value"),
    ("pi", "36\\pi", "36 \\pi", "ok", ""),
    # algebraic expressions
    ("expression", "x^2+2x+1", "(x+1)^2", "ok", "expressions compare exactly at seeded sample points"),
    ("expression", "2x+3", "3+2x", "ok", "sums compare by value, not by text order"),
    ("expression", "\\frac{x}{2}", "0.5x", "ok", "expressions compare exactly at seeded sample points"),
    ("expression", "x^2-1", "(x-1)(x+1)", "ok", "expressions compare exactly at seeded sample points"),
    ("expression", "2x", "x+x", "ok", "expressions compare exactly at seeded sample points"),
    ("expression", "x^2", "2x", "wrong", ""),
    ("expression", "a+b", "b+a", "ok", "sums compare by value, not by text order"),
    ("expression", "2ab", "2ba", "ok", "products compare by value, not by text order"),
    ("expression", "ab", "ba", "wrong", ""),
    ("expression", "\\frac{1}{x+1}", "\\frac1{1+x}", "ok", "expressions compare exactly at seeded sample points"),
    ("expression", "2x+3", "2x+4", "wrong", ""),
    ("expression", "x+1", "y+1", "wrong", ""),
    ("expression", "3\\theta", "\\theta+2\\theta", "ok", "expressions compare exactly at seeded sample points"),
    ("expression", "4x^3-2x", "2x(2x^2-1)", "ok", "expressions compare exactly at seeded sample points"),
    ("expression", "\\frac{x^2-1}{x-1}", "x+1", "ok", "expressions compare exactly at seeded sample points"),
    ("expression", "x^3", "x^2", "wrong", ""),
    ("expression", "\\sqrt{x^2}", "x", "wrong", ""),
    # equations
    ("equation", "x=5", "5", "ok", ""),
    ("equation", "x = \\frac12", "0.5", "ok", "x= prefix removed, then 1/2 = 0.5"),
    ("equation", "y=2x+1", "y = 1+2x", "ok", "sums compare by value, not by text order"),
    ("equation", "y=2x+1", "y=2x-1", "wrong", ""),
    ("equation", "x=4", "5", "wrong", ""),
    # spaces, \left/\right, \!
    ("spacing", "\\frac{1} {2}", "\\frac12", "ok", ""),
    ("spacing", "1 000", "1000", "ok", ""),
    ("spacing", "1\\!000", "1000", "ok", ""),
    ("spacing", "1\\,000", "1000", "ok", "\\, thin space removed"),
    ("spacing", "\\left(1,2\\right)", "(1,2)", "ok", ""),
    ("spacing", "\\left[ 0, 1 \\right]", "[0,1]", "ok", ""),
    ("spacing", "\\displaystyle\\frac{1}{2}", "\\frac{1}{2}", "ok", "\\displaystyle removed"),
    ("spacing", "\\left(1,2\\right)", "(1,3)", "wrong", ""),
    # text units
    ("units", "5\\text{ cm}", "5", "ok", ""),
    ("units", "5 \\text{cm}", "5", "ok", "a \\text{} unit is removed even without a leading space inside"),
    ("units", "10\\text{ inches}", "10", "ok", ""),
    ("units", "12\\mbox{ ft}", "12", "ok", "\\mbox{} units are removed too"),
    ("units", "\\text{5}", "5", "ok", "a whole-answer \\text{} is unwrapped"),
    ("units", "5\\text{ cm}", "6", "wrong", ""),
    ("units", "18 dollars", "18", "ok", "plain unit words after a number are removed"),
    ("units", "5 cm", "5", "ok", "plain unit words after a number are removed"),
    ("units", "30 degrees", "30", "ok", "plain unit words after a number are removed"),
    ("units", "7\\text{ units}^2", "7", "ok", ""),
    ("units", "20\\text{ miles per hour}", "20", "ok", ""),
    ("units", "3\\text{ hours}", "4", "wrong", ""),
    # degrees
    ("degrees", "90^\\circ", "90", "ok", ""),
    ("degrees", "90^{\\circ}", "90", "ok", ""),
    ("degrees", "90\u00b0", "90", "ok", "the degree sign U+00B0 is removed"),
    ("degrees", "45^\\circ", "90", "wrong", ""),
    ("degrees", "60\\circ", "60", "ok", "a bare \\circ is removed"),
    # percent
    ("percent", "50\\%", "50", "ok", ""),
    ("percent", "50%", "50", "ok", "a bare % is removed like \\% (hendrycks removes only \\%)"),
    ("percent", "25\\%", "50", "wrong", ""),
    ("percent", "12.5\\%", "12.5", "ok", ""),
    # dollars
    ("dollars", "\\$18", "18", "ok", ""),
    ("dollars", "\\$18.00", "18", "ok", "18.00 and 18 are the same number"),
    ("dollars", "\\$1,234.50", "1234.5", "ok", "thousands separators removed; trailing zero insignificant"),
    ("dollars", "\\$17", "18", "wrong", ""),
    # intervals
    ("interval", "(1,2]", "(1,2]", "ok", ""),
    ("interval", "(1,2)", "(1,2]", "wrong", ""),
    ("interval", "[0,\\infty)", "[0, \\infty)", "ok", ""),
    ("interval", "(-\\infty, 3)", "(-\\infty,3)", "ok", ""),
    ("interval", "(-\\infty,3]", "(-\\infty,3)", "wrong", ""),
    ("interval", "(0,1)\\cup(2,3)", "(2,3)\\cup(0,1)", "ok", "a union is order-insensitive"),
    ("interval", "[\\frac{1}{2}, 1)", "[0.5,1)", "ok", "interval endpoints compare by value"),
    ("interval", "(-\\infty,0)\\cup(0,\\infty)", "(-\\infty,0)\\cup(1,\\infty)", "wrong", ""),
    # tuples
    ("tuple", "(1,2)", "(1, 2)", "ok", ""),
    ("tuple", "(2,1)", "(1,2)", "wrong", ""),
    ("tuple", "(\\frac12, 3)", "(0.5,3)", "ok", "tuple components compare by value"),
    ("tuple", "(1,2,3)", "(1,2)", "wrong", ""),
    ("tuple", "(3,-\\sqrt{2})", "(3,-\\sqrt2)", "ok", ""),
    ("tuple", "(0,0,1)", "(0, 0, 1)", "ok", ""),
    # sets and solution lists
    ("set", "\\{1,2,3\\}", "\\{3,2,1\\}", "ok", "a set is order-insensitive"),
    ("set", "\\{1,2\\}", "\\{1,3\\}", "wrong", ""),
    ("set", "1, 2", "2,1", "ok", "a bare list of solutions is order-insensitive"),
    ("set", "-2, 3", "3,-2", "ok", "a bare list of solutions is order-insensitive"),
    ("set", "1,2", "1,2,3", "wrong", ""),
    ("set", "3 \\text{ and } 4", "3,4", "ok", "\\text{ and } separates list items"),
    ("set", "\\frac12, -1", "-1, 0.5", "ok", "a bare list of solutions is order-insensitive"),
    ("set", "1,1,2", "1,2,2", "wrong", ""),
    ("set", "3\\text{ or }5", "3", "wrong", "hendrycks cuts everything after the first '\\text{ ' as a unit, so a hedged '3 or 5' passes; we read 'or' as a list separator and a two-item list is not one number"),
    ("set", "2\\text{ and }7", "2", "wrong", "hendrycks cuts everything after the first '\\text{ ' as a unit, so '2 and 7' passes; we read 'and' as a list separator"),
    # plus-minus
    ("pm", "2\\pm\\sqrt{3}", "2+\\sqrt3, 2-\\sqrt3", "ok", "one \\pm stands for the two solutions (order-insensitive)"),
    ("pm", "\\frac{1\\pm\\sqrt{5}}{2}", "\\frac{1-\\sqrt5}{2},\\frac{1+\\sqrt5}{2}", "ok", "one \\pm stands for the two solutions (order-insensitive)"),
    ("pm", "\\pm 3", "3,-3", "ok", "one \\pm stands for the two solutions (order-insensitive)"),
    ("pm", "2\\pm\\sqrt3", "2+\\sqrt3", "wrong", ""),
    ("pm", "2\\pm\\sqrt3", "2\\pm\\sqrt{3}", "ok", ""),
    ("pm", "1\\pm\\sqrt2", "2\\pm\\sqrt{3}", "wrong", ""),
    # multiple choice
    ("choice", "(B)", "B", "ok", "multiple-choice letters compare with or without parentheses"),
    ("choice", "B", "B", "ok", ""),
    ("choice", "\\text{(B)}", "B", "ok", "multiple-choice letters compare with or without parentheses"),
    ("choice", "(C)", "B", "wrong", ""),
    ("choice", "B)", "B", "ok", "multiple-choice letters compare with or without parentheses"),
    ("choice", "\\textbf{(E)}", "(E)", "ok", "a whole-answer \\textbf{} is unwrapped"),
    ("choice", "A", "E", "wrong", ""),
    # words
    ("text", "\\text{yes}", "yes", "ok", "a whole-answer \\text{} is unwrapped (hendrycks only strips \\text{ with a space, as a unit)"),
    ("text", "\\text{no}", "\\text{yes}", "wrong", ""),
    ("text", "\\text{Monday}", "\\text{Monday}", "ok", ""),
    ("text", "odd", "\\text{even}", "wrong", ""),
    ("text", "\\text{no}", "\\text{on}", "wrong", ""),
    ("text", "\\text{seat}", "east", "wrong", ""),
    ("text", "\\text{Monday}", "Monday", "ok", "a whole-answer \\text{} is unwrapped"),
]

# Pairs whose label changed when the verifier became exact (issue 17): the old label encoded
# the 1e-6 relative tolerance or sample points that were all positive.
RELABELLED = [
    ("0.3333333", "\\frac{1}{3}", "ok", "wrong",
     "0.3333333 is not 1/3 (they differ by 1/30000000); the old verifier accepted any decimal within 1e-6 "
     "relative. A source that wants rounded decimals sets numeric_tolerance."),
    ("1.41421356", "\\sqrt{2}", "ok", "wrong",
     "a rational is never sqrt(2): certified intervals prove the difference nonzero; the old verifier used "
     "a 1e-6 relative tolerance"),
    ("3.14159265", "\\pi", "ok", "wrong",
     "a rational is never pi: certified intervals prove the difference nonzero; the old verifier used a "
     "1e-6 relative tolerance"),
    ("\\sqrt{x^2}", "x", "ok", "wrong",
     "sqrt(x^2) = |x|, which differs from x at negative x; the old sample points were all in [0.3, 2.7], "
     "the new seeded points include negative and non-integer values"),
]

NUMBERISH = set("0123456789.-,")


def output_forms(answer, category):
    forms = [
        f"We simplify step by step. Therefore the final answer is $\\boxed{{{answer}}}$.",
        f"Let me think.\nThe answer is ${answer}$.",
        f"\\fbox{{{answer}}}",
    ]
    if all(c in NUMBERISH for c in answer) and any(c.isdigit() for c in answer):
        forms.append(f"Adding up, 3 + 4 = 7 and so on.\n#### {answer}")
        if "," not in answer:
            forms.append(f"After computing we get {answer}")
    return forms


def truth_forms(truth):
    return [truth, f"${truth}$", f"We have $y=1$, so the result is $\\boxed{{{truth}}}$."]


# ---- hendrycks/math modeling/math_equivalence.py (MIT), reproduced for the comparison ----
def _fix_fracs(string):
    substrs = string.split("\\frac")
    new_str = substrs[0]
    if len(substrs) > 1:
        for substr in substrs[1:]:
            new_str += "\\frac"
            if substr and substr[0] == "{":
                new_str += substr
            else:
                if len(substr) < 2:
                    return string
                a, b = substr[0], substr[1]
                if b != "{":
                    new_str += "{" + a + "}{" + b + "}" + substr[2:]
                else:
                    new_str += "{" + a + "}" + b + substr[2:]
    return new_str


def _fix_a_slash_b(string):
    if len(string.split("/")) != 2:
        return string
    a, b = string.split("/")
    try:
        a, b = int(a), int(b)
        assert string == "{}/{}".format(a, b)
        return "\\frac{" + str(a) + "}{" + str(b) + "}"
    except Exception:
        return string


def _remove_right_units(string):
    if "\\text{ " in string:
        splits = string.split("\\text{ ")
        assert len(splits) == 2
        return splits[0]
    return string


def _fix_sqrt(string):
    if "\\sqrt" not in string:
        return string
    splits = string.split("\\sqrt")
    new_string = splits[0]
    for split in splits[1:]:
        if split[0] != "{":
            new_string += "\\sqrt{" + split[0] + "}" + split[1:]
        else:
            new_string += "\\sqrt" + split
    return new_string


def _strip_string(string):
    string = string.replace("\n", "").replace("\\!", "").replace("\\\\", "\\")
    string = string.replace("tfrac", "frac").replace("dfrac", "frac")
    string = string.replace("\\left", "").replace("\\right", "")
    string = string.replace("^{\\circ}", "").replace("^\\circ", "")
    string = string.replace("\\$", "")
    string = _remove_right_units(string)
    # The original's second replace is "\%" again (Python keeps the backslash of an unknown
    # escape), so a bare "%" survives in hendrycks.
    string = string.replace("\\%", "")
    string = string.replace(" .", " 0.").replace("{.", "{0.")
    if len(string) == 0:
        return string
    if string[0] == ".":
        string = "0" + string
    if len(string.split("=")) == 2 and len(string.split("=")[0]) <= 2:
        string = string.split("=")[1]
    string = _fix_sqrt(string)
    string = string.replace(" ", "")
    string = _fix_fracs(string)
    if string == "0.5":
        string = "\\frac{1}{2}"
    string = _fix_a_slash_b(string)
    return string


def hendrycks_is_equiv(str1, str2):
    try:
        return _strip_string(str1) == _strip_string(str2)
    except Exception:
        return str1 == str2
# ---- end of reproduced code ----


def main():
    cases = []
    for category, answer, truth, expected, _ in PAIRS:
        for out in output_forms(answer, category):
            for gt in truth_forms(truth):
                cases.append({"output": out, "ground_truth": gt, "expected": expected, "category": category})
    # Extraction edge cases.
    extra = [
        ("I am not sure how to solve this.", "5", "wrong", "extraction"),
        ("\\boxed{}", "5", "wrong", "extraction"),
        ("First \\boxed{3}, but correcting myself: \\boxed{4}", "4", "ok", "extraction"),
        ("First \\boxed{4}, but correcting myself: \\boxed{3}", "4", "wrong", "extraction"),
        ("\\boxed{\\frac{1}{\\sqrt{2}}}", "\\frac{\\sqrt2}{2}", "ok", "extraction"),
        ("$\\boxed 5$", "5", "ok", "extraction"),
        ("The answer is: 12", "12", "ok", "extraction"),
        ("THE ANSWER IS 12. I double-checked 13 times.", "12", "ok", "extraction"),
        ("She has 16 - 3 - 4 = 9 eggs, 9 * 2 = 18 dollars.\n#### 18", "18", "ok", "extraction"),
        ("She has 16 - 3 - 4 = 9 eggs.\n#### 9\nextra 20", "9", "ok", "extraction"),
        ("We get 3-5=-2", "-2", "ok", "extraction"),
        ("We get 10-3", "3", "ok", "extraction"),
        ("We get 3/4", "\\frac34", "ok", "extraction"),
        ("\\boxed{\\{1, 2\\}} and \\boxed{3", "\\{2,1\\}", "ok", "extraction"),
        ("\\boxed{42}", "Janet's ducks lay 16 eggs per day... 9 * 2 = $<<9*2=18>>18.\n#### 18", "wrong", "extraction"),
        ("\\boxed{18}", "Janet's ducks lay 16 eggs per day... 9 * 2 = $<<9*2=18>>18.\n#### 18", "ok", "extraction"),
    ]
    for out, gt, expected, category in extra:
        cases.append({"output": out, "ground_truth": gt, "expected": expected, "category": category})
    with open(os.path.join(HERE, "cases.jsonl"), "w", encoding="utf-8") as f:
        for case in cases:
            f.write(json.dumps(case, ensure_ascii=False) + "\n")

    agree = 0
    rows = []
    for category, answer, truth, expected, why in PAIRS:
        h = "ok" if hendrycks_is_equiv(answer, truth) else "wrong"
        if h == expected:
            agree += 1
        else:
            rows.append((category, answer, truth, expected, h, why))
    with open(os.path.join(HERE, "HENDRYCKS_DIFFERENCES.md"), "w", encoding="utf-8") as f:
        f.write("# Where the math verifier intentionally differs from hendrycks `is_equiv`\n\n")
        f.write("Generated by `make_cases.py` (do not edit by hand). The reference is `is_equiv` from\n"
                "hendrycks/math `modeling/math_equivalence.py` (reproduced in the script), applied to\n"
                "the same extracted answer pair (model answer, ground-truth answer) without `$`.\n"
                "Our verdicts are the `expected` column of `cases.jsonl`, which the `MathCases` test\n"
                "checks against the C++ verifier.\n\n")
        f.write(f"Answer pairs: {len(PAIRS)}; agreement with hendrycks: {agree}/{len(PAIRS)} "
                f"({100.0 * agree / len(PAIRS):.1f}%); cases in cases.jsonl: {len(cases)}.\n\n")
        false_accepts = sum(1 for r in rows if r[3] == "wrong")
        f.write(f"Of the differences, {len(rows) - false_accepts} are answers we accept and hendrycks rejects "
                f"(false negatives of its string comparison) and {false_accepts} are answers hendrycks accepts "
                "and we reject. On every pair whose expected verdict is `wrong`, hendrycks agrees with us "
                "unless listed. The pairs were chosen to exercise every rule, so the agreement rate "
                "is not a dataset statistic.\n\n")
        f.write("| category | model answer | ground truth | ours | hendrycks | why |\n|---|---|---|---|---|---|\n")
        esc = lambda s: "`" + s.replace("|", "\\|") + "`"
        for category, answer, truth, ours, h, why in rows:
            f.write(f"| {category} | {esc(answer)} | {esc(truth)} | {ours} | {h} | {why or 'see category'} |\n")
        f.write("\n## Relabelled when the verifier became exact (issue 17)\n\n"
                "These pairs were `ok` while the verifier compared decimals, irrationals and expressions with a "
                "1e-6 relative tolerance or at positive sample points only. Every output and ground-truth form "
                "of each pair in cases.jsonl carries the new label (hendrycks also says `wrong` for all of "
                "them).\n\n")
        f.write("| model answer | ground truth | old | new | why |\n|---|---|---|---|---|\n")
        for answer, truth, old, new, why in RELABELLED:
            reason = why.replace("|", "\\|")
            f.write(f"| {esc(answer)} | {esc(truth)} | {old} | {new} | {reason} |\n")
    print(f"{len(cases)} cases, {len(PAIRS)} pairs, hendrycks agreement {agree}/{len(PAIRS)}")


if __name__ == "__main__":
    main()
