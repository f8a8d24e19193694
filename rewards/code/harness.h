// File: rewards/code/harness.h
// The Python harness that runs inside the sandbox and judges each test, the job it reads on
// stdin, and the report it writes on fd 3.
//
// How tests run: the harness process P never runs untrusted code. It compiles the program and
// the tests (compiling executes nothing), then forks a child that runs the program once and
// then each assert in the program's globals (as HumanEval-style checks do), or, for stdin/stdout
// tests, one child per test that runs the program with that input. P's report pipe (fd 3) is
// closed in every child before untrusted code starts; P judges stdout itself.
//
// Why a test result cannot be forged by the code under test:
//  - A child installs an audit hook (PEP 578; hooks cannot be removed from Python) before any
//    untrusted code. The hook holds a random nonce in its closure only (no frame, global or
//    attribute refers to it), announces it to P first thing ("N <nonce>"), and writes
//    "D <nonce> <i>" on the custom audit event "caravan.done" with argument i only when that
//    event is raised from the exact frame object of the harness function that runs the tests,
//    which reaches that line only after exec() of test i returned normally. The tests are a
//    tuple of code objects (immutable) and every builtin the harness uses after untrusted code
//    starts is bound beforehand. sys.exit(), os._exit(), exceptions, printing fake lines,
//    patching builtins, AssertionError or harness globals therefore cannot produce a pass.
//  - The hook also denies, and reports as a violation, the ways to reach the nonce or the host:
//    gc.get_objects/get_referrers/get_referents, sys.settrace/setprofile/_current_frames,
//    sys.addaudithook, ctypes, opening paths outside /usr, /lib*, /bin, /tmp and /dev/{null,zero,
//    random,urandom} (so no /proc/<pid>/mem or /proc/<pid>/fd), symlinks and hard links, fork,
//    exec, spawn, subprocess, os.kill/killpg, signal.pthread_kill and sockets. The sandbox
//    (sandbox_process.h) enforces the same boundaries again at the kernel level.
//  - Equality is judged on values, not on the objects' own claims: P rewrites `a == b` and
//    `a != b` inside the tests' assert statements into calls of a comparison bound before
//    untrusted code runs. It rebuilds both sides from builtin scalars and containers with C code
//    only (namedtuple, defaultdict, Counter, IntEnum... become their builtin base); an object of
//    any other class never equals such a value, so an object whose __eq__ always returns True
//    cannot pass `assert f(x) == 5` (it does pass `!=`, being unequal). Top-level asserts reach the
//    comparison through a namespace the program cannot write; asserts inside a function a test
//    defines reach it through a global with a random name, reset before each test; replacing its
//    __code__ or __defaults__ is denied. Two objects of the program's own classes compare with
//    their own ==. The price: a result of a value type outside the builtins (fractions.Fraction,
//    decimal.Decimal) never equals a literal, so `assert f() == 0.5` fails for Fraction(1, 2).
//  - Not covered: other expressions an object can fake (`assert abs(f(x) - y) < 1e-6`,
//    `assert f(x)`); a program that finds the comparison's global name and rewrites it between
//    two asserts of one test function; sys._getframe stays allowed (namedtuple and typing need
//    it), so frames and harness locals are visible, but the nonce is in none of them; a program
//    that closes the event pipe before a denied operation escapes the violation label (the
//    operation is still denied, and no test can pass without the pipe).
//
// Per test P reports one of: pass; fail (exception, early exit, stdout mismatch); violation (a
// denied operation, even if the program caught the PermissionError); limit (MemoryError, EFBIG,
// ENOSPC, EMFILE or EAGAIN escaping the program, output over the cap, killed by SIGKILL, SIGXCPU
// or SIGXFSZ); error (a test that does not compile: the ground truth is broken).
//
//   std::string job = encode_harness_job(program, tests, tag, /*output_cap=*/1 << 20);
//   SandboxOutcome outcome = sandbox.run(job, deadline);   // command = harness_command(python)
//   Result<HarnessReport> report = parse_harness_report(outcome.report_bytes, tag, tests.size());
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "rewards/code/code_tests.h"

namespace caravan::rewards::code {

// The harness's Python source.
std::string_view harness_source();

// The sandbox command that starts the harness: `python_path -S -I -B -c <source>`. The harness
// imports what it needs, then blocks reading its job from stdin (so a started sandbox can wait
// in a warm pool).
std::vector<std::string> harness_command(const std::string& python_path);

// The job for one verification: fields "<decimal byte length>\n<bytes>" (tag, output cap,
// "asserts" or "io", program, then each assert or each input/expected-output pair). No JSON,
// because importing Python's json module would add ~15 ms to every sandbox start. `tag`
// (random, [0-9a-f]+) prefixes every report line; `output_cap` is the per-test stdout cap in
// bytes. Bytes pass through as they are (a program that is not UTF-8 fails with SyntaxError).
std::string encode_harness_job(std::string_view program, const CodeTests& tests, std::string_view tag,
                               size_t output_cap);

enum class TestOutcome { kPass, kFail, kViolation, kLimit, kError };

struct TestResult {
  TestOutcome outcome = TestOutcome::kFail;
  // Printable ASCII, e.g. "AssertionError" or "violation: socket.__new__"; empty on pass.
  std::string detail;
};

// What the harness reported; results[i] is empty when test i has no line (the harness died).
struct HarnessReport {
  std::vector<std::optional<TestResult>> results;
  // The final "<tag> end" line arrived.
  bool complete = false;
};

// Parses the fd-3 report. Lines not starting with `tag` are ignored. kDataLoss for a line with
// the tag that does not parse (a harness bug).
Result<HarnessReport> parse_harness_report(std::string_view report, std::string_view tag, size_t test_count);

} // namespace caravan::rewards::code
