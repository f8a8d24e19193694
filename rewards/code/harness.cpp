#include "rewards/code/harness.h"

#include <cstdlib>

namespace caravan::rewards::code {
namespace {

// The harness (see the design notes in harness.h). Runs as `python3 -S -I -B -c`.
constexpr std::string_view kHarnessSource = R"PY(
# Caravan's code-verifier harness (rewards/code/harness.h explains the design). Runs as
# `python3 -S -I -B -c`, reads its job on stdin, writes "<tag> <index> <outcome> <detail>" lines
# and "<tag> end" on fd 3.
import _ast, errno, os, select, sys

REPORT_FD = 3
DONE_CAP = 65536
DENIED_PREFIXES = ("os.fork", "os.forkpty", "os.exec", "os.posix_spawn", "os.spawn", "os.system",
                   "subprocess.", "os.kill", "os.killpg", "signal.", "socket.", "ctypes.",
                   "gc.get_", "sys._current_frames", "sys.settrace", "sys.setprofile",
                   "sys.addaudithook", "os.symlink", "os.link")
OPEN_ALLOWED = ("/usr/", "/lib/", "/lib64/", "/lib32/", "/bin/", "/tmp/")
OPEN_ALLOWED_EXACT = ("/dev/null", "/dev/zero", "/dev/urandom", "/dev/random", "/tmp")
LIMIT_ERRNOS = (errno.EFBIG, errno.ENOSPC, errno.EDQUOT, errno.EMFILE, errno.ENFILE, errno.EAGAIN)
# Linux signal numbers (the signal module would import enum, which costs start-up time).
SIGKILL, SIGXCPU, SIGXFSZ = 9, 24, 25
LIMIT_SIGNALS = {SIGKILL: "SIGKILL", SIGXCPU: "SIGXCPU", SIGXFSZ: "SIGXFSZ"}
ONLY_AST = 0x400  # ast.PyCF_ONLY_AST (importing ast would import enum: slow start-up)
# Name under which the rewritten asserts find strict_eq; random per job so programs cannot guess it.
STRICT_EQ_NAME = "_caravan_eq_" + os.urandom(8).hex()


def read_all(fd):
    chunks = []
    while True:
        chunk = os.read(fd, 1 << 16)
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)


def one_line(text, cap=300):
    text = text if isinstance(text, str) else text.decode("utf-8", "replace")
    text = "".join(c if " " <= c <= "~" else "?" for c in text.replace("\n", " | "))
    return text[:cap]


def path_allowed(path):
    if isinstance(path, int):
        return True
    try:
        path = os.path.normpath(os.path.join(os.getcwd(), os.fsdecode(path)))
    except Exception:
        return False
    return path in OPEN_ALLOWED_EXACT or path.startswith(OPEN_ALLOWED)


def make_guard(done_fd, harness_frame, protected):
    # The nonce lives only in this closure: no frame, global or attribute refers to it.
    nonce = os.urandom(16).hex().encode()
    write, getframe, passed = os.write, sys._getframe, set()
    write(done_fd, b"N " + nonce + b"\n")

    def guard(event, args):
        if event == "caravan.done":
            # Honoured only from the harness frame, once per index.
            if getframe(1) is harness_frame and len(args) == 1 and args[0] not in passed:
                passed.add(args[0])
                write(done_fd, b"D %s %d\n" % (nonce, args[0]))
            return
        if (event.startswith(DENIED_PREFIXES) or (event == "open" and not path_allowed(args[0]))
                or (event == "object.__setattr__" and args[1] in ("__code__", "__defaults__", "__kwdefaults__")
                    and args[0] in protected)):
            detail = event if event != "open" else "open " + one_line(repr(args[0]), 80)
            write(done_fd, b"V " + detail.encode() + b"\n")
            raise PermissionError("sandbox: " + detail + " is not allowed")

    return guard


def make_strict_eq(kind=type, subclass=issubclass, make_list=list, make_tuple=tuple, make_dict=dict,
                   make_set=set, make_frozenset=frozenset, list_iter=list.__iter__, tuple_iter=tuple.__iter__,
                   set_iter=set.__iter__, frozenset_iter=frozenset.__iter__, dict_items=dict.items,
                   int_add=int.__add__, float_add=float.__add__, complex_add=complex.__add__,
                   str_add=str.__add__, bytes_add=bytes.__add__):
    # The comparison the rewritten asserts use for == and != (see strict_compares). Values are
    # first rebuilt from builtin scalars and containers by C code only (subclasses such as
    # namedtuple, defaultdict, Counter or IntEnum become their builtin base); an object of any
    # other class is "untrusted". Two rebuilt values compare with builtin ==; an untrusted value
    # never equals a rebuilt one (an object whose __eq__ always returns True cannot pass
    # `assert f(x) == 5`); two untrusted values use their own ==. Everything is bound now,
    # before untrusted code runs.
    untrusted = object()
    scalars = (int, float, complex, bool, str, bytes, kind(None))
    conversions = ((int, int_add, 0), (float, float_add, 0.0), (complex, complex_add, 0j),
                   (str, str_add, ""), (bytes, bytes_add, b""))

    def rebuilt(value):
        value_type = kind(value)
        for scalar in scalars:
            if value_type is scalar:
                return value
        for base, add, zero in conversions:
            if subclass(value_type, base):
                return add(value, zero)
        if subclass(value_type, dict):
            items = [(rebuilt(key), rebuilt(item)) for key, item in dict_items(value)]
            for key, item in items:
                if key is untrusted or item is untrusted:
                    return untrusted
            return make_dict(items)
        for base, iterate, make in ((list, list_iter, make_list), (tuple, tuple_iter, make_tuple),
                                    (set, set_iter, make_set), (frozenset, frozenset_iter, make_frozenset)):
            if subclass(value_type, base):
                items = [rebuilt(item) for item in iterate(value)]
                for item in items:
                    if item is untrusted:
                        return untrusted
                return make(items)
        return untrusted

    def strict_eq(left, right):
        plain_left, plain_right = rebuilt(left), rebuilt(right)
        if plain_left is untrusted and plain_right is untrusted:
            return left == right
        if plain_left is untrusted or plain_right is untrusted:
            return False
        return plain_left == plain_right

    return strict_eq


def strict_compares(node, in_assert=False):
    # Rewrites `a == b` and `a != b` inside assert statements of a test's AST into
    # STRICT_EQ_NAME(a, b) and `not STRICT_EQ_NAME(a, b)`; returns the (new) node.
    in_assert = in_assert or isinstance(node, _ast.Assert)
    for field in node._fields:
        value = getattr(node, field, None)
        if isinstance(value, list):
            setattr(node, field, [strict_compares(item, in_assert) if isinstance(item, _ast.AST) else item
                                  for item in value])
        elif isinstance(value, _ast.AST):
            setattr(node, field, strict_compares(value, in_assert))
    if not (in_assert and isinstance(node, _ast.Compare) and len(node.ops) == 1
            and isinstance(node.ops[0], (_ast.Eq, _ast.NotEq))):
        return node
    name = _ast.Name(id=STRICT_EQ_NAME, ctx=_ast.Load())
    call = _ast.Call(func=name, args=[node.left, node.comparators[0]], keywords=[])
    result = call if isinstance(node.ops[0], _ast.Eq) else _ast.UnaryOp(op=_ast.Not(), operand=call)
    for new in (name, call, result):
        for attribute in ("lineno", "col_offset", "end_lineno", "end_col_offset"):
            setattr(new, attribute, getattr(node, attribute))
    return result


class TestNamespace(dict):
    # A test's local namespace: STRICT_EQ_NAME always reads strict_eq (the program cannot
    # replace it for top-level asserts); every other name reads and writes the program's globals,
    # so tests share state as they would in one module.
    def __init__(self, scope, strict_eq_name, strict_eq):
        super().__init__()
        self.scope, self.strict_eq_name, self.strict_eq = scope, strict_eq_name, strict_eq

    def __getitem__(self, name):
        return self.strict_eq if name == self.strict_eq_name else self.scope[name]

    def __setitem__(self, name, value):
        self.scope[name] = value

    def __delitem__(self, name):
        del self.scope[name]


def compile_test(text, index):
    tree = compile(text, "<test %d>" % index, "exec", ONLY_AST)
    return compile(strict_compares(tree), "<test %d>" % index, "exec")


def run_untrusted(solution, tests, done_fd, run=exec, audit=sys.audit, exit_now=os._exit,
                  out=sys.stdout, err=sys.stderr, write=os.write, base=BaseException,
                  oserror=OSError, memory_error=MemoryError, kind=type, isinstance=isinstance,
                  count=len, namespace=TestNamespace, eq_name=STRICT_EQ_NAME):
    # Runs the program (index -1), then each test (a tuple of code objects: immutable, so the
    # program cannot swap them). Everything used after untrusted code starts is bound here.
    # Tests see strict_eq through a TestNamespace; the program's globals get it too (reset before
    # each test), for asserts inside functions a test defines.
    strict_eq = make_strict_eq()
    sys.addaudithook(make_guard(done_fd, sys._getframe(), (strict_eq,)))
    scope = {"__name__": "__main__", "__builtins__": __builtins__}
    index = -1
    while index < count(tests):
        try:
            if index < 0:
                run(solution, scope)
            else:
                scope[eq_name] = strict_eq
                run(tests[index], scope, namespace(scope, eq_name, strict_eq))
            out.flush()
            err.flush()
        except base as error:
            limit = isinstance(error, memory_error) or (
                isinstance(error, oserror) and error.errno in LIMIT_ERRNOS)
            write(done_fd, b"%s %d %s\n" % (b"L" if limit else b"F", index, kind(error).__name__.encode()))
            if index < 0:
                exit_now(1)
        else:
            audit("caravan.done", index)
        index += 1
    exit_now(0)


def normalized(output):
    lines = [line.rstrip() for line in output.split(b"\n")]
    while lines and not lines[-1]:
        lines.pop()
    return lines


def collect(pid, done_r, out_r, err_r, output_cap):
    # Reads the child's event, stdout and stderr pipes to EOF (stdout over the cap kills it).
    buffers = {done_r: bytearray(), out_r: bytearray(), err_r: bytearray()}
    caps = {done_r: DONE_CAP, out_r: output_cap, err_r: 2048}
    open_fds = set(buffers)
    over_cap = False
    while open_fds:
        ready, _, _ = select.select(list(open_fds), [], [])
        for fd in ready:
            chunk = os.read(fd, 1 << 16)
            if not chunk:
                open_fds.discard(fd)
                os.close(fd)
                continue
            room = caps[fd] - len(buffers[fd])
            buffers[fd] += chunk[:max(room, 0)]
            if fd == out_r and len(chunk) > room and not over_cap:
                over_cap = True
                os.kill(pid, SIGKILL)
    _, status = os.waitpid(pid, 0)
    return bytes(buffers[done_r]), bytes(buffers[out_r]), bytes(buffers[err_r]), over_cap, status


def judge(indices, events, stderr, over_cap, status, output_cap):
    # (outcome, detail) per index of `indices` from the child's events.
    lines = events.split(b"\n")
    nonce = lines[0][2:] if lines[0].startswith(b"N ") and len(lines[0]) > 2 else None
    lines = [line for line in lines[1:] if line]
    violation = next((line[2:] for line in lines if line.startswith(b"V ")), None)
    if violation is not None:
        return [("violation", one_line(violation))] * len(indices)
    if over_cap:
        return [("limit", "output exceeds %d bytes" % output_cap)] * len(indices)
    tail = one_line(stderr.strip().split(b"\n")[-1]) if stderr.strip() else ""
    killed = os.WTERMSIG(status) if os.WIFSIGNALED(status) else 0
    results = []
    for index in indices:
        marker = b" %d " % index
        mine = [line for line in lines if line[1:].startswith(marker)]
        program = [line for line in lines if line[1:].startswith(b" -1 ")]
        if nonce is not None and b"D " + nonce + b" %d" % index in lines:
            results.append(("pass", ""))
        elif any(line.startswith(b"L") for line in mine + program):
            limit = next(line for line in mine + program if line.startswith(b"L"))
            results.append(("limit", one_line(limit.split(b" ", 2)[2])))
        elif killed in LIMIT_SIGNALS:
            results.append(("limit", "killed by " + LIMIT_SIGNALS[killed]))
        elif mine or program:
            results.append(("fail", one_line((mine or program)[0].split(b" ", 2)[2]) + (": " + tail if tail else "")))
        else:
            results.append(("fail", "exited early" + (": " + tail if tail else "")))
    return results


def run_child(solution, tests, stdin_path, output_cap):
    # Runs the program and `tests` in a forked child; returns ([(outcome, detail)] for the
    # program (tests empty) or for each test, stdout).
    done_r, done_w = os.pipe()
    out_r, out_w = os.pipe()
    err_r, err_w = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            for fd in (done_r, out_r, err_r, REPORT_FD):
                os.close(fd)
            stdin_fd = os.open(stdin_path or "/dev/null", os.O_RDONLY)
            os.dup2(stdin_fd, 0)
            os.dup2(out_w, 1)
            os.dup2(err_w, 2)
            for fd in (stdin_fd, out_w, err_w):
                os.close(fd)
            run_untrusted(solution, tests, done_w)
        finally:
            os._exit(1)
    for fd in (done_w, out_w, err_w):
        os.close(fd)
    events, stdout, stderr, over_cap, status = collect(pid, done_r, out_r, err_r, output_cap)
    indices = range(len(tests)) if tests else [-1]
    return judge(indices, events, stderr, over_cap, status, output_cap), stdout


def read_fields(data):
    # The job: fields of "<decimal byte length>\n<bytes>" (no JSON: importing json costs ~15 ms).
    fields, pos = [], 0
    while pos < len(data):
        newline = data.index(b"\n", pos)
        end = newline + 1 + int(data[pos:newline])
        fields.append(data[newline + 1:end])
        pos = end
    return fields


def judge_job(mode, source, fields, count, output_cap):
    # (outcome, detail) per test. Broken tests are reported before a broken program.
    if mode == b"asserts":
        tests = []
        for index, text in enumerate(fields):
            try:
                tests.append(compile_test(text, index))
            except (SyntaxError, ValueError, RecursionError) as error:
                return [("error", "test %d does not compile: %s" % (index, error))] * count
    try:
        solution = compile(source, "<solution>", "exec")
    except Exception as error:  # SyntaxError, ValueError (NUL bytes), RecursionError (nesting)
        return [("fail", "%s: %s" % (type(error).__name__, error))] * count
    if mode == b"asserts":
        return run_child(solution, tuple(tests), None, output_cap)[0]
    results = []
    for index in range(count):
        stdin_path = "/tmp/stdin_%d" % index
        with open(stdin_path, "wb") as stdin_file:
            stdin_file.write(fields[2 * index])
        [(outcome, detail)], stdout = run_child(solution, (), stdin_path, output_cap)
        if outcome == "pass" and normalized(stdout) != normalized(fields[2 * index + 1]):
            outcome, detail = "fail", "stdout differs: got " + one_line(repr(stdout[:60]))
        results.append((outcome, detail))
    return results


def main():
    os.closerange(REPORT_FD + 1, 1 << 16)
    tag, output_cap, mode, source, *fields = read_fields(read_all(0))
    count = len(fields) if mode == b"asserts" else len(fields) // 2
    results = judge_job(mode, source, fields, count, int(output_cap))
    for index, (outcome, detail) in enumerate(results):
        os.write(REPORT_FD, tag + (" %d %s %s\n" % (index, outcome, one_line(detail))).encode())
    os.write(REPORT_FD, tag + b" end\n")


main()
)PY";

}  // namespace

std::string_view harness_source() { return kHarnessSource; }

std::vector<std::string> harness_command(const std::string& python_path) {
  return {python_path, "-S", "-I", "-B", "-c", std::string(kHarnessSource)};
}

namespace {

// Appends one job field: "<decimal byte length>\n<bytes>".
void append_field(std::string& job, std::string_view field) {
  job += std::to_string(field.size());
  job += '\n';
  job += field;
}

}  // namespace

std::string encode_harness_job(std::string_view program, const CodeTests& tests, std::string_view tag,
                               size_t output_cap) {
  std::string job;
  append_field(job, tag);
  append_field(job, std::to_string(output_cap));
  append_field(job, tests.asserts.empty() ? "io" : "asserts");
  append_field(job, program);
  for (const std::string& test : tests.asserts) append_field(job, test);
  for (const IoTest& test : tests.io) {
    append_field(job, test.input);
    append_field(job, test.expected_output);
  }
  return job;
}

Result<HarnessReport> parse_harness_report(std::string_view report, std::string_view tag, size_t test_count) {
  HarnessReport parsed;
  parsed.results.resize(test_count);
  size_t pos = 0;
  while (pos < report.size()) {
    size_t end = report.find('\n', pos);
    if (end == std::string_view::npos) end = report.size();
    std::string_view line = report.substr(pos, end - pos);
    pos = end + 1;
    if (line.size() <= tag.size() || line.substr(0, tag.size()) != tag || line[tag.size()] != ' ') continue;
    line.remove_prefix(tag.size() + 1);
    if (line == "end") {
      parsed.complete = true;
      continue;
    }
    const size_t space = line.find(' ');
    const size_t space2 = space == std::string_view::npos ? space : line.find(' ', space + 1);
    const std::string index_text(line.substr(0, space));
    char* index_end = nullptr;
    const unsigned long index = std::strtoul(index_text.c_str(), &index_end, 10);
    if (space == std::string_view::npos || index_text.empty() || *index_end != '\0' || index >= test_count) {
      return Status::data_loss(str_cat("code harness report: bad test index in line '", line, "'"));
    }
    const std::string_view outcome = line.substr(space + 1, space2 == std::string_view::npos ? space2 : space2 - space - 1);
    TestResult result;
    result.detail = space2 == std::string_view::npos ? "" : std::string(line.substr(space2 + 1));
    if (outcome == "pass") result.outcome = TestOutcome::kPass;
    else if (outcome == "fail") result.outcome = TestOutcome::kFail;
    else if (outcome == "violation") result.outcome = TestOutcome::kViolation;
    else if (outcome == "limit") result.outcome = TestOutcome::kLimit;
    else if (outcome == "error") result.outcome = TestOutcome::kError;
    else return Status::data_loss(str_cat("code harness report: unknown outcome in line '", line, "'"));
    parsed.results[index] = std::move(result);
  }
  return parsed;
}

} // namespace caravan::rewards::code
