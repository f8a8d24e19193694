#!/usr/bin/env python3
"""Generates adversarial.jsonl: near-miss wrong answers that a reward must never accept, and
honest rewrites it must accept, for the "math" verifier (issue 17).

    python3 tests/data/math/make_adversarial.py

Each line: {"class", "completion", "ground_truth", "expected": "wrong"|"ok", "why"}. The
MathAdversarial test (tests/rewards/math_cases_test.cpp) requires every verdict to match.
Deterministic; no dependencies.
"""
import json
import os

HERE = os.path.dirname(os.path.abspath(__file__))


def boxed(answer):
    return f"Working through the problem step by step, we get the result.\nTherefore the final answer is $\\boxed{{{answer}}}$."


def hashes(answer):
    return f"She sells 16 - 3 - 4 = 9 eggs and earns 9 * 2 = 18 dollars.\n#### {answer}"


def answer_is(answer):
    return f"Let me check the computation once more. The answer is ${answer}$."


# (class, completion, ground truth, why it is wrong). Completions are already wrapped.
WRONG = [
    # A decimal point must not switch on a tolerance.
    ("decimal", boxed("12345.68"), "12345.67", "off by one cent"),
    ("decimal", boxed("1000001.0"), "1000000", "a decimal point is not a tolerance"),
    ("decimal", hashes("1234567.5"), "1234567", "GSM8K answer off by one half"),
    ("decimal", boxed("0.9999999"), "1", "off by 1e-7"),
    ("decimal", boxed("1.0000001"), "1", "off by 1e-7"),
    ("decimal", boxed("3.1415"), "3.1416", "off in the last digit"),
    ("decimal", boxed("0.3333333"), "\\frac{1}{3}", "a rounded decimal is not 1/3"),
    ("decimal", boxed("0.6666667"), "\\frac{2}{3}", "a rounded decimal is not 2/3"),
    ("decimal", boxed("0.142857"), "\\frac{1}{7}", "a truncated decimal is not 1/7"),
    ("decimal", hashes("18.01"), "18", "off by one cent"),
    ("decimal", hashes("17.99"), "18", "off by one cent"),
    ("decimal", boxed("\\$16386.19"), "\\$16386.20", "off by one cent"),
    ("decimal", boxed("2.5000001"), "\\frac{5}{2}", "off by 1e-7"),
    ("decimal", boxed("99.999999"), "100", "off by 1e-6"),
    ("decimal", boxed("1e-7"), "0", "a tiny number is not zero"),
    ("decimal", boxed("0.1"), "0.01", "off by a factor of ten"),
    ("decimal", answer_is("0.30000000000000004"), "0.3", "a binary-float artefact is not 0.3"),
    ("decimal", boxed("1.23456789012345678"), "1.23456789012345679", "differs in the 17th significant digit"),
    # Irrational values are proven, never approximated.
    ("irrational", boxed("\\frac{355}{113}"), "\\pi", "a famous approximation of pi"),
    ("irrational", boxed("\\frac{22}{7}"), "\\pi", "an approximation of pi"),
    ("irrational", boxed("3.14159265"), "\\pi", "a rational is never pi"),
    ("irrational", boxed("3.141592653589793"), "\\pi", "double-precision pi is not pi"),
    ("irrational", boxed("\\frac{1393}{985}"), "\\sqrt{2}", "a convergent of sqrt 2 (within 4e-7)"),
    ("irrational", boxed("1.41421356"), "\\sqrt2", "a rounded decimal is not sqrt 2"),
    ("irrational", boxed("\\sqrt{1000001}"), "1000", "sqrt(1000001) is within 5e-4 of 1000"),
    ("irrational", boxed("2.718281828"), "e", "a rational is never e"),
    ("irrational", boxed("1.7320508"), "\\sqrt{3}", "a rounded decimal is not sqrt 3"),
    ("irrational", boxed("\\frac{99}{70}"), "\\sqrt{2}", "a convergent of sqrt 2"),
    ("irrational", boxed("2\\pi"), "6.283185307", "a rational is never 2 pi"),
    ("irrational", boxed("\\sqrt{2}+\\sqrt{3}"), "\\sqrt{5}", "radicals do not add like that"),
    ("irrational", boxed("\\sqrt{8}"), "3\\sqrt{2}", "sqrt 8 is 2 sqrt 2"),
    ("irrational", boxed("\\frac{\\sqrt{3}}{2}"), "\\frac{\\sqrt{2}}{2}", "different radicands"),
    ("irrational", boxed("\\pi^2"), "9.8696044", "a rational is never pi squared"),
    ("irrational", boxed("\\frac{\\pi}{3}"), "\\frac{\\pi}{6}", "off by a factor of two"),
    ("irrational", boxed("e^2"), "7.389056", "a rational is never e squared"),
    ("irrational", boxed("1+\\sqrt{2}"), "\\sqrt{3+2\\sqrt{2}}+10^{-12}", "equal up to 1e-12, not equal"),
    # Expressions with variables are exact at every point.
    ("variables", boxed("x+1000001"), "x+1000000", "off by one at every point"),
    ("variables", boxed("x^2+2x"), "x^2+2x+1", "off by one at every point"),
    ("variables", boxed("x-1"), "1-x", "sign flip"),
    ("variables", boxed("\\sqrt{x^2}"), "x", "|x| differs from x at negative x"),
    ("variables", boxed("x^2+1"), "(x+1)^2", "missing the cross term"),
    ("variables", boxed("x^3"), "x", "agrees only at -1, 0 and 1"),
    ("variables", boxed("2x"), "x^2", "agrees only at 0 and 2"),
    ("variables", boxed("\\frac{x}{2}"), "2x", "agrees only at 0"),
    ("variables", boxed("x^{10}"), "x^{10}+10^{-30}", "off by 1e-30 at every point"),
    ("variables", boxed("a+b"), "a-b", "sign flip of one term"),
    ("variables", boxed("x+y"), "x+z", "a different variable"),
    ("variables", boxed("\\frac{1}{x}"), "x", "agrees only at -1 and 1"),
    ("variables", boxed("(x-1)(x+2)"), "(x+1)(x-2)", "roots swapped in sign"),
    ("variables", boxed("2\\pi r"), "\\pi r^2", "circumference, not area"),
    # Integers beyond 64 and 128 bits.
    ("big integer", boxed("340282366920938463463374607431768211457"), "2^{128}", "2^128 + 1"),
    ("big integer", boxed("340282366920938463463374607431768211455"), "340282366920938463463374607431768211456",
     "off by one beyond 128 bits"),
    ("big integer", boxed("10000000000000000000000000000000000000001"), "10^{40}", "10^40 + 1"),
    ("big integer", hashes("123456789012345678901234567891"), "123456789012345678901234567890", "off by one"),
    ("big integer", boxed("3628801"), "10!", "10! + 1"),
    ("big integer", boxed("93326215443944152681699238856266700490715968264381621468592963895217599993229915608941463976156518286253697920827223758251185210916864000000000000000000000001"),
     "100!", "100! + 1"),
    ("big integer", boxed("1267650600228229401496703205377"), "2^{100}", "2^100 + 1"),
    ("big integer", boxed("18446744073709551617"), "18446744073709551616", "2^64 + 1"),
    ("big integer", boxed("-9223372036854775809"), "-9223372036854775808", "off by one below -2^63"),
    ("big integer", boxed("1,000,000,000,000,000,000,001"), "10^{24}", "10^24 + 1 with separators"),
    # Lists stay lists; thousands separators only in the exact shape.
    ("list", boxed("2, 100"), "2100", "a list of two numbers is not 2100"),
    ("list", boxed("2100"), "2, 100", "2100 is not the list 2, 100"),
    ("list", boxed("1, 234"), "1234", "a list with a space is not a number"),
    ("list", boxed("1,2345"), "12345", "not the thousands shape"),
    ("list", boxed("12,34,567"), "1234567", "groups of two are not thousands separators here"),
    ("list", boxed("1 23"), "123", "digits separated by a space are two numbers"),
    ("list", boxed("32, 349"), "32349", "a list, not a number"),
    ("list", boxed("1, 2"), "1, 2, 3", "an element is missing"),
    ("list", boxed("1, 2, 3, 4"), "1, 2, 3", "an extra element"),
    ("list", boxed("1, 1, 2"), "1, 2, 2", "multiplicities differ"),
    ("list", boxed("1, 2"), "12", "a list is not the concatenated number"),
    # Tuples and intervals are ordered; brackets matter.
    ("tuple", boxed("(2, 1)"), "(1, 2)", "reordered tuple"),
    ("tuple", boxed("(3, 2, 1)"), "(1, 2, 3)", "reordered tuple"),
    ("tuple", boxed("(1, 3, 2)"), "(1, 2, 3)", "two components swapped"),
    ("tuple", boxed("(-1, 2)"), "(1, 2)", "sign flip of one component"),
    ("tuple", boxed("(1, 2)"), "(1, 2, 3)", "a component is missing"),
    ("tuple", boxed("(1, 2]"), "(1, 2)", "closed instead of open end"),
    ("tuple", boxed("[1, 2)"), "(1, 2)", "closed instead of open end"),
    ("tuple", boxed("(-\\infty, 3]"), "(-\\infty, 3)", "3 included"),
    ("tuple", boxed("(3, \\infty)"), "(-\\infty, 3)", "the other side"),
    ("tuple", boxed("(0,1)\\cup(2,3)"), "(0,1)\\cup(2,4)", "one endpoint differs"),
    ("tuple", boxed("\\left(\\frac{4}{5}, \\frac{1}{5}\\right)"), "\\left(\\frac{1}{5},\\frac{4}{5}\\right)", "reordered"),
    ("tuple", boxed("(7, 6)"), "(6, 7)", "reordered ordered pair"),
    # Sign flips.
    ("sign", boxed("-5"), "5", "sign flip"),
    ("sign", boxed("5"), "-5", "sign flip"),
    ("sign", boxed("-\\frac{1}{2}"), "\\frac{1}{2}", "sign flip"),
    ("sign", boxed("\\frac{-3}{-4}"), "-\\frac{3}{4}", "double negative is positive"),
    ("sign", boxed("-\\sqrt{2}"), "\\sqrt{2}", "sign flip"),
    ("sign", hashes("-18"), "18", "sign flip"),
    ("sign", boxed("-\\pi"), "\\pi", "sign flip"),
    ("sign", boxed("-\\infty"), "\\infty", "sign flip"),
    # A hedge between two answers is never the answer.
    ("hedge", boxed("3 \\text{ or } 5"), "3", "a hedge between two answers"),
    ("hedge", boxed("3 or 5"), "5", "a hedge between two answers"),
    ("hedge", "It is either $\\boxed{3}$ or $\\boxed{5}$.", "5", "two boxes joined by 'or' are a hedge"),
    ("hedge", "So $\\boxed{3}$ and $\\boxed{5}$.", "3", "two boxed answers are a list"),
    ("hedge", boxed("3, 5"), "3", "a list is not one value"),
    ("hedge", boxed("3 \\pm 1"), "4", "plus-minus is two values"),
    ("hedge", boxed("\\pm 2021"), "2021", "plus-minus is two values"),
    ("hedge", boxed("\\text{either } 3 \\text{ or } 5"), "3", "words around a hedge"),
    ("hedge", boxed("x = 3 \\text{ or } x = -3"), "3", "two solutions are not one"),
    ("hedge", boxed("\\text{(B) or (C)}"), "B", "two choice letters"),
    ("hedge", boxed("B, C"), "B", "two choice letters"),
    ("hedge", boxed("1 \\text{ to } 3"), "1", "a range is not a value"),
    # \text{} with words is content, never deleted.
    ("text", boxed("\\text{not } 5"), "5", "negated"),
    ("text", boxed("\\text{all real numbers except } 2"), "2", "the complement of 2"),
    ("text", boxed("5 \\text{ is not the answer}"), "5", "explicitly not 5"),
    ("text", boxed("\\text{at least } 5"), "5", "an inequality in words"),
    ("text", boxed("\\text{about } 7"), "7", "an approximation in words"),
    ("text", boxed("\\text{no solution}"), "0", "words are not a number"),
    ("text", boxed("5 \\text{ apples and } 3 \\text{ pears}"), "5", "more than one quantity"),
    ("text", boxed("\\text{yes}"), "\\text{no}", "opposite word"),
    ("text", boxed("\\text{on}"), "\\text{no}", "an anagram is a different word"),
    ("text", boxed("\\text{Tuesday}"), "\\text{Monday}", "different word"),
    ("text", boxed("\\text{odd}"), "\\text{even}", "different word"),
    ("text", boxed("7 \\text{ remainder } 3"), "7", "a remainder is more than the quotient"),
    ("text", boxed("F(2) < F(1) < F(4)"), "f(2) < f(1) < f(4)", "letter case matters in a formula"),
    # An equation's left side is dropped only for a single variable.
    ("equation", boxed("-x=3"), "3", "x is -3"),
    ("equation", boxed("2x=6"), "6", "x is 3"),
    ("equation", boxed("x+1=4"), "4", "x is 3"),
    ("equation", boxed("x^2=9"), "9", "x is 3 or -3"),
    ("equation", boxed("2x=6"), "x=3", "an unsolved equation is not the solution"),
    ("equation", boxed("y=3"), "x=3", "a different variable"),
    ("equation", boxed("x=-3"), "x=3", "sign flip"),
    ("equation", boxed("2x+4y=-3"), "2x+4y=3", "a different line"),
    ("equation", boxed("y=2x-1"), "y=2x+1", "a different line"),
    ("equation", boxed("7 = 11a+c"), "11a+c", "an equation is not its right side"),
    # Relations keep direction and strictness.
    ("relation", boxed("x < 3"), "x \\le 3", "strict instead of non-strict"),
    ("relation", boxed("x > 3"), "x < 3", "direction flipped"),
    ("relation", boxed("x \\geq 5"), "x \\leq 5", "direction flipped"),
    ("relation", boxed("-x < -1"), "x < 1", "negating both sides flips the relation"),
    ("relation", boxed("x > -1"), "x < 1", "different set"),
    ("relation", boxed("x \\ne 3"), "x = 3", "not equal is not equal"),
    ("relation", boxed("-2 < x \\le 7"), "-2 \\le x \\le 7", "one end open"),
    ("relation", boxed("x \\in (-2, 7]"), "-2 \\le x \\le 7", "one end open"),
    ("relation", boxed("2x < 6"), "x > 3", "direction flipped"),
    # Units: a different unit is a different answer.
    ("unit", boxed("5 \\text{ m}"), "5 \\text{ cm}", "metres instead of centimetres"),
    ("unit", boxed("2 \\text{ hours}"), "2 \\text{ minutes}", "hours instead of minutes"),
    ("unit", boxed("50 \\text{ cents}"), "\\$50", "cents instead of dollars"),
    ("unit", boxed("12 \\text{ inches}"), "12 \\text{ feet}", "inches instead of feet"),
    ("unit", boxed("5 \\text{ square units}"), "5 \\text{ units}", "area instead of length"),
    ("unit", boxed("3 \\text{ km}"), "3 \\text{ miles}", "kilometres instead of miles"),
    ("unit", boxed("90 \\text{ radians}"), "90^\\circ", "radians instead of degrees"),
    ("unit", boxed("4 \\text{ kg}"), "4 \\text{ pounds}", "kilograms instead of pounds"),
    ("unit", boxed("5 \\text{ apples}"), "5", "a word that is not a listed unit"),
    ("unit", boxed("\\frac{\\pi}{3}"), "60^\\circ", "radian measure of a degree answer"),
    # Percent.
    ("percent", boxed("28"), "0.28", "28 is not 28%"),
    ("percent", boxed("0.28"), "28", "a fraction is not the percent number"),
    ("percent", boxed("0.28\\%"), "28\\%", "0.28% is not 28%"),
    ("percent", boxed("2.8\\%"), "28\\%", "off by a factor of ten"),
    ("percent", boxed("28/100"), "28", "28/100 is not 28"),
    # Multiple choice.
    ("choice", boxed("(C)"), "B", "a different letter"),
    ("choice", boxed("\\text{(A)}"), "E", "a different letter"),
    ("choice", "The answer is (D).", "(C)", "a different letter"),
    ("choice", boxed("BC"), "B", "two letters"),
    # Matrices.
    ("matrix", boxed("\\begin{pmatrix}1 & 2\\\\ 3 & 5\\end{pmatrix}"), "\\begin{pmatrix}1 & 2\\\\ 3 & 4\\end{pmatrix}", "one entry differs"),
    ("matrix", boxed("\\begin{pmatrix}1 & 3\\\\ 2 & 4\\end{pmatrix}"), "\\begin{pmatrix}1 & 2\\\\ 3 & 4\\end{pmatrix}", "transposed"),
    ("matrix", boxed("\\begin{pmatrix}1 & 2\\end{pmatrix}"), "\\begin{pmatrix}1\\\\ 2\\end{pmatrix}", "row instead of column"),
    ("matrix", boxed("\\begin{pmatrix}0.33\\\\ 0.2\\end{pmatrix}"), "\\begin{pmatrix}\\frac{1}{3}\\\\ \\frac{1}{5}\\end{pmatrix}", "rounded entry"),
    # Infinity and overflow.
    ("infinity", boxed("\\frac{1}{0}"), "\\infty", "division by zero is undefined"),
    ("infinity", boxed("2^{10^{9}}"), "\\infty", "a huge number is finite"),
    ("infinity", boxed("10^{100}"), "\\infty", "a large number is finite"),
    ("infinity", boxed("\\infty"), "10^{100}", "infinity is not a number"),
    # Mixed numbers and scientific notation.
    ("mixed", boxed("4 4/9"), "4", "a mixed number is more than its whole part"),
    ("mixed", "The answer is 4 4/9.", "\\frac{4}{9}", "a mixed number is more than its fraction"),
    ("mixed", boxed("2\\frac{1}{2}"), "\\frac{2}{2}", "2 1/2 is not 2/2"),
    ("mixed", boxed("1.5e3"), "150", "off by a factor of ten"),
    ("mixed", boxed("6.02\\times10^{23}"), "6.02\\times10^{22}", "off by a factor of ten"),
    # Extraction: what the completion commits to last is the answer.
    ("extraction", "We found \\boxed{18} earlier, but correcting the error: \\boxed{19}.", "18", "the final box is 19"),
    ("extraction", "The answer is 18.\n#### 17", "18", "the #### line says 17"),
    ("extraction", "So \\boxed{}.", "5", "an empty box is no answer"),
    ("extraction", "I think the answer is 12 but I am not sure, maybe 13.", "12", "the last number is 13"),
    ("extraction", "9=189.\n**Final Answer**\n\\boxed{188}", "189", "the boxed answer is 188"),
    ("extraction", "Final Answer: The final answer is $10,456$. I hope it is correct.", "10455", "off by one"),
    ("extraction", "AZYUK2A", "2", "a digit inside an identifier is not an answer"),
    ("extraction", "Therefore $x \\geq 6$ is the solution.", "x \\ge 5", "the last math span says 6"),
]

# (class, completion, ground truth, why it is the same answer).
OK = [
    ("relation", boxed("x \\le 3"), "x \\leq 3", "\\le is \\leq"),
    ("relation", boxed("x \\ge 3"), "x \\geq 3", "\\ge is \\geq"),
    ("relation", boxed("3 \\ge x"), "x \\leq 3", "sides swapped"),
    ("relation", boxed("-x \\ge -3"), "x \\leq 3", "both sides negated"),
    ("relation", "We find that $x \\lt 3$.", "x < 3", "\\lt"),
    ("relation", "Therefore $x \\gt 5$ is the solution.", "x > 5", "\\gt"),
    ("relation", "Thus $x <= 2$ is our answer.", "x \\leq 2", "<="),
    ("relation", "Thus $x >= 2$ is our answer.", "x \\geq 2", ">="),
    ("relation", "We find that $x \\neq 3$.", "x != 3", "\\neq is !="),
    ("relation", boxed("x \\in [-2, 7]"), "-2 \\le x \\le 7", "an interval is the double inequality"),
    ("relation", boxed("x > 3"), "(3, \\infty)", "an inequality is its interval"),
    ("relation", boxed("2x < 6"), "x < 3", "a positive multiple"),
    ("equation", boxed("x = 3"), "3", "a single-variable left side"),
    ("equation", boxed("3 = x"), "x = 3", "sides swapped"),
    ("equation", boxed("\\theta = 30"), "30", "a Greek single variable"),
    ("equation", boxed("y = -\\frac{1}{2}x + \\frac{3}{4}"), "2x+4y-3=0", "the same line"),
    ("equation", boxed("-34x-45y+20z-100=0"), "34x+45y-20z+100=0", "both sides negated"),
    ("equation", "$x = 5+5+1 = 7 = 11$", "x = 11", "a chain ends in the value"),
    ("equation", "$x=1/3\\approx0.33$", "\\frac{1}{3}", "the exact value before an approximation"),
    ("case", boxed("\\text{Yes}"), "yes", "letter case of yes/no"),
    ("case", boxed("NO"), "\\text{no}", "letter case of yes/no"),
    ("case", boxed("Monday"), "\\text{monday}", "letter case of a word"),
    ("case", "The answer is (b).", "B", "letter case of a choice"),
    ("case", boxed("\\textbf{(E)}"), "E", "a choice letter in bold"),
    ("notation", "Answer \\[ 9 \\]", "9", "last display math span"),
    ("notation", "Answer \\( (9+1) \\)", "10", "last inline math span"),
    ("notation", "Answer $$ \n 9 \n $$", "9", "display dollars over lines"),
    ("notation", boxed("\\dfrac{1}{3}"), "\\frac{1}{3}", "\\dfrac"),
    ("notation", boxed("\\tfrac{1}{3}"), "\\frac{1}{3}", "\\tfrac"),
    ("notation", boxed("\\cfrac{1}{3}"), "\\frac{1}{3}", "\\cfrac"),
    ("notation", boxed("\\frac13"), "\\frac{1}{3}", "\\frac13 shorthand"),
    ("notation", boxed("\\left( \\frac{1}{3} \\right)"), "\\frac{1}{3}", "\\left( \\right)"),
    ("notation", boxed("\\frac{1}{3} \\text{ meters}"), "\\frac{1}{3}", "a trailing unit in \\text"),
    ("notation", boxed("\\frac{1}{3} \\textbf{meters}"), "\\frac{1}{3}", "a trailing unit in \\textbf"),
    ("notation", "The distance is $\\boxed{125\\textnormal{ miles}}.$", "125 \\text{ miles}", "\\textnormal unit, same unit"),
    ("notation", boxed("15\\mbox{ cm}^2"), "15", "an area unit dropped"),
    ("notation", "28 pct", "28\\%", "pct"),
    ("notation", "28 percent", "28\\%", "percent"),
    ("notation", boxed("20\\%"), "20", "a percent sign on a percent answer"),
    ("notation", boxed("\\begin{pmatrix}1 & 2\\\\ 3 & 4\\end{pmatrix}"), "\\begin{bmatrix}1 & 2\\\\ 3 & 4\\end{bmatrix}", "pmatrix and bmatrix"),
    ("notation", boxed("(-\\infty, 0) \\cup (1, \\infty)"), "(1, \\infty) \\cup (-\\infty, 0)", "a union in any order"),
    ("notation", boxed("\\{3, 1, 2\\}"), "\\{1, 2, 3\\}", "a set in any order"),
    ("notation", "\\[ \\boxed{-2} \\quad \\text{and} \\quad \\boxed{1}. \\]", "n = \\boxed{1,-2}", "two boxed solutions are the solution list"),
    ("notation", boxed("1 \\pm \\sqrt{19}"), "1+\\sqrt{19}, 1-\\sqrt{19}", "plus-minus is the two solutions"),
    ("exact", boxed("0.1+0.2"), "0.3", "exactly 3/10"),
    ("exact", boxed("0.50"), "\\frac{1}{2}", "a decimal equal to the fraction"),
    ("exact", boxed("2\\sqrt{2}"), "\\sqrt{8}", "proven equal"),
    ("exact", boxed("1+\\sqrt{2}"), "\\sqrt{3+2\\sqrt{2}}", "a nested radical, proven equal"),
    ("exact", boxed("\\frac{5\\sqrt{42}}{27}"), "\\frac{10\\sqrt{10.5}}{27}", "proven equal"),
    ("exact", boxed("\\frac{\\sqrt{\\sqrt{11}+\\sqrt{194}}}{2\\sqrt{33}+15}"), "\\frac{\\sqrt{\\sqrt{11}+\\sqrt{194}}}{15+2\\sqrt{33}}", "proven equal"),
    ("exact", boxed("1267650600228229401496703205376"), "2^{100}", "2^100 exactly"),
    ("exact", boxed("3628800"), "10!", "10! exactly"),
    ("exact", boxed("340,282,366,920,938,463,463,374,607,431,768,211,456"), "2^{128}", "2^128 with separators"),
    ("exact", boxed("\\pi+\\pi"), "2\\pi", "pi as a symbol"),
    ("exact", boxed("e^{2}"), "e\\cdot e", "e as a symbol"),
    ("exact", boxed("(x+1)^2"), "x^2+2x+1", "identical polynomials"),
    ("exact", boxed("\\frac{x^2-1}{x-1}"), "x+1", "equal where both are defined"),
    ("exact", boxed("4 4/9"), "\\frac{40}{9}", "a mixed number"),
    ("exact", boxed("(\\frac12, 3)"), "(0.5, 3)", "tuple entries compared exactly"),
    ("exact", boxed("1.5\\times10^{3}"), "1500", "scientific notation"),
    ("exact", boxed("\\binom{5}{2}"), "10", "a binomial coefficient"),
    ("exact", boxed("1,234,567"), "1234567", "thousands separators in the exact shape"),
    ("exact", boxed("1\\,234\\,567"), "1234567", "thin-space thousands separators"),
    ("exact", hashes("18"), "Janet sells 9 eggs at 2 dollars.\n#### 18", "GSM8K #### answers"),
]


def main():
    cases = []
    for cls, completion, truth, why in WRONG:
        cases.append({"class": cls, "completion": completion, "ground_truth": truth, "expected": "wrong", "why": why})
    for cls, completion, truth, why in OK:
        cases.append({"class": cls, "completion": completion, "ground_truth": truth, "expected": "ok", "why": why})
    with open(os.path.join(HERE, "adversarial.jsonl"), "w", encoding="utf-8") as f:
        for case in cases:
            f.write(json.dumps(case, ensure_ascii=False) + "\n")
    print(f"{len(WRONG)} wrong, {len(OK)} ok")


if __name__ == "__main__":
    main()
