"""parse_output's pipeline: cleaning, detection, priorities, fallback, dedupe and its inputs.

Snippets written inline in this module are HAND-WRITTEN from the tools' documented formats (for
variants the committed real outputs do not cover); each test says which format it imitates.
"""

from __future__ import annotations

import pytest

from vigil.errors import InputError
from vigil.parsing import parse_output, strip_ansi


def test_empty_output_has_no_failures() -> None:
    """An empty run gives no failures, no tools and an empty fingerprint."""
    result = parse_output("")
    assert (result.failures, result.tools, result.fingerprint) == ((), (), "")


def test_clean_build_log_has_no_failures() -> None:
    """Ordinary progress lines do not trigger the fallback."""
    log = "Compiling 12 modules\nLinking app\nAll 42 tests passed (0 errors, 0 failures)\nDone.\n"
    assert parse_output(log).failures == ()


def test_bytes_are_rejected_with_an_input_error() -> None:
    """Handing bytes instead of text is a caller mistake reported as InputError."""
    with pytest.raises(InputError):
        parse_output(b"error: boom")  # type: ignore[arg-type]


def test_carriage_return_progress_keeps_only_the_final_redraw() -> None:
    """A line redrawn with \\r is read as the terminal shows it."""
    text = "Building 10%\rBuilding 50%\rsrc/a.c:3:5: error: boom\r\nlinking\n"
    first = parse_output(text).failures[0]
    assert (first.file, first.line, first.message) == ("src/a.c", 3, "boom")


def test_strip_ansi_removes_colour_and_cursor_codes() -> None:
    """strip_ansi removes SGR, cursor and OSC hyperlink sequences and keeps the text."""
    coloured = "\x1b[1m\x1b[31merror\x1b[0m: \x1b]8;;file:///x\x1b\\x.c\x1b]8;;\x1b\\ \x1b[2K"
    assert strip_ansi(coloured) == "error: x.c "


def test_command_hint_selects_a_parser_the_text_alone_would_not() -> None:
    """pytest's --tb=line output carries no banner; the command hint still routes it to pytest."""
    # Hand-written: `pytest -q --tb=line -rN` prints only location lines and the counts.
    text = "/home/ann/shop/tests/test_cart.py:14: assert 3 == 4\n1 failed in 0.02s\n"
    assert "pytest" in parse_output(text, command=".venv/bin/pytest -q --tb=line").tools
    assert "pytest" not in parse_output(text).tools


def test_cwd_makes_absolute_paths_relative() -> None:
    """A file printed under cwd is reported relative to it; one outside cwd stays absolute."""
    text = "/work/shop/src/a.c:3:5: error: boom\n/usr/include/b.h:9:1: error: bad\n"
    files = [failure.file for failure in parse_output(text, cwd="/work/shop").failures]
    assert files == ["src/a.c", "/usr/include/b.h"]


def test_failures_come_in_output_order_across_tools() -> None:
    """Failures from different parsers are ordered as they appear in the output."""
    text = (
        "src/shop/cart.py:3: error: Incompatible return value type  [return-value]\n"
        "src/index.ts(2,1): error TS2304: Cannot find name 'x'.\n"
        'src/shop/tax.py:9: error: Name "y" is not defined  [name-defined]\n'
    )
    result = parse_output(text)
    assert [f.tool for f in result.failures] == ["mypy", "tsc", "mypy"]


def test_wrapper_summary_is_dropped_when_the_real_error_is_found() -> None:
    """make's 'Error 1' only stands in when nothing more specific was parsed."""
    with_error = "cc -c a.c\na.c:2:1: error: expected ';'\nmake: *** [Makefile:3: a.o] Error 1\n"
    alone = "running checks\nmake: *** [Makefile:3: check] Error 2\n"
    assert [f.tool for f in parse_output(with_error).failures] == ["gcc"]
    only = parse_output(alone).failures
    assert [(f.tool, f.file, f.line, f.error_type) for f in only] == [
        ("make", "Makefile", 3, "Error 2")
    ]


def test_make_own_errors_are_real_failures() -> None:
    """'No rule to make target' is make's own error, not a wrapper summary."""
    text = "make: *** No rule to make target 'instal'.  Stop.\n"
    first = parse_output(text).failures[0]
    assert (first.tool, first.error_type) == ("make", "No rule to make target")


def test_identical_failures_are_reported_once() -> None:
    """The same failure printed twice (e.g. in a summary) is deduplicated."""
    line = "src/shop/cart.py:3: error: Bad  [misc]\n"
    assert len(parse_output(line * 3).failures) == 1


def test_generic_fallback_guesses_best_first_and_few() -> None:
    """Unknown output yields at most a handful of guesses, the most specific first."""
    lines = [f"step {n}: job {n} failed" for n in range(10)]
    lines += ["FATAL: disk full", "deploy.sh:12: error: missing variable HOST"]
    result = parse_output("\n".join(lines))
    assert result.tools == ("generic",)
    assert 1 <= len(result.failures) <= 5
    first = result.failures[0]
    assert (first.file, first.line, first.message) == ("deploy.sh", 12, "missing variable HOST")


def test_generic_fallback_reads_exception_lines() -> None:
    """An unknown runtime's 'SomethingException: text' line becomes a typed guess."""
    text = "starting\njava.lang.IllegalStateException: pool closed\nbye\n"
    first = parse_output(text).failures[0]
    assert (first.tool, first.error_type, first.message) == (
        "generic",
        "IllegalStateException",
        "pool closed",
    )


def test_python_traceback_in_site_packages_points_at_the_users_frame() -> None:
    """A crash inside a dependency is located at the deepest frame under cwd."""
    # Hand-written from CPython 3.11's traceback format.
    text = """Traceback (most recent call last):
  File "/srv/app/main.py", line 20, in <module>
    run()
  File "/srv/app/service/jobs.py", line 8, in run
    requests.get(url)
  File "/srv/app/.venv/lib/python3.11/site-packages/requests/api.py", line 73, in get
    return request("get", url, params=params, **kwargs)
requests.exceptions.MissingSchema: Invalid URL 'x': No scheme supplied.
"""
    first = parse_output(text, cwd="/srv/app").failures[0]
    assert (first.tool, first.file, first.line) == ("python", "service/jobs.py", 8)
    assert first.error_type == "MissingSchema"
    assert first.message.startswith("Invalid URL 'x'")


def test_chained_python_traceback_is_one_failure() -> None:
    """'During handling of the above exception' reports the last exception only."""
    # Hand-written from CPython's chained-exception format.
    text = """Traceback (most recent call last):
  File "/srv/app/main.py", line 3, in <module>
    {}["k"]
KeyError: 'k'

During handling of the above exception, another exception occurred:

Traceback (most recent call last):
  File "/srv/app/main.py", line 5, in <module>
    raise RuntimeError("no config")
RuntimeError: no config
"""
    failures = parse_output(text, cwd="/srv/app").failures
    assert [(f.error_type, f.message, f.line) for f in failures] == [
        ("RuntimeError", "no config", 5)
    ]


def test_bare_python_syntax_error_is_located() -> None:
    """A script that fails to compile (no Traceback header) is still parsed."""
    # Hand-written from CPython 3.11's SyntaxError report.
    text = (
        '  File "/srv/app/main.py", line 4\n    def f(:\n          ^\nSyntaxError: invalid syntax\n'
    )
    first = parse_output(text, cwd="/srv/app").failures[0]
    assert (first.file, first.line, first.error_type) == ("main.py", 4, "SyntaxError")


def test_node_stack_through_node_modules_points_at_user_code() -> None:
    """A Node error thrown inside a dependency is located at the first frame the user owns."""
    # Hand-written from Node 20's uncaught-exception format.
    text = """/srv/web/node_modules/pg/lib/client.js:132
      throw err
      ^

Error: connect ECONNREFUSED 127.0.0.1:5432
    at Client._connect (/srv/web/node_modules/pg/lib/client.js:132:7)
    at connectDb (/srv/web/src/db.js:12:10)
    at main (/srv/web/src/index.js:4:3)
    at node:internal/main/run_main_module:28:49

Node.js v20.20.2
"""
    first = parse_output(text, cwd="/srv/web").failures[0]
    assert (first.tool, first.file, first.line, first.column) == ("node", "src/db.js", 12, 10)
    assert first.message == "connect ECONNREFUSED 127.0.0.1:5432"


def test_pytest_summary_stands_in_when_tracebacks_are_off() -> None:
    """With --tb=no only the summary is printed; it still gives test ids and messages."""
    # Hand-written from pytest 8's `-rfE --tb=no` output.
    text = """=========================== short test summary info ============================
FAILED tests/test_a.py::test_one - ValueError: bad value
FAILED tests/test_a.py::TestB::test_two[1-2] - assert 1 == 2
ERROR tests/test_c.py::test_three - RuntimeError: fixture broke
========================= 2 failed, 1 error in 0.10s ==========================
"""
    failures = parse_output(text).failures
    assert [(f.test, f.error_type, f.message) for f in failures] == [
        ("tests/test_a.py::test_one", "ValueError", "bad value"),
        ("tests/test_a.py::TestB::test_two[1-2]", None, "assert 1 == 2"),
        ("tests/test_c.py::test_three", "RuntimeError", "fixture broke"),
    ]
    assert {f.file for f in failures} == {"tests/test_a.py", "tests/test_c.py"}


def test_lld_undefined_symbol_uses_the_reference_location() -> None:
    """lld's 'undefined symbol' names the referencing source line."""
    # Hand-written from LLVM lld 14's output.
    text = (
        "ld.lld: error: undefined symbol: checksum\n"
        ">>> referenced by main.c:6\n"
        ">>>               /tmp/main-0a1b2c.o:(main)\n"
        "clang: error: linker command failed with exit code 1 (use -v to see invocation)\n"
    )
    first = parse_output(text).failures[0]
    assert (first.tool, first.file, first.line, first.error_type) == (
        "ld",
        "main.c",
        6,
        "undefined symbol",
    )


def test_old_npm_err_prefix_is_understood() -> None:
    """npm 6-9's 'npm ERR!' prefix is parsed like npm 10's 'npm error'."""
    # Hand-written from npm 8's output for a missing script.
    text = 'npm ERR! Missing script: "lint"\nnpm ERR!\nnpm ERR! To see a list of scripts, run:\n'
    first = parse_output(text).failures[0]
    assert (first.tool, first.error_type, first.message) == (
        "npm",
        "missing script",
        'Missing script: "lint"',
    )


def test_npm_lifecycle_failure_yields_to_the_scripts_own_error() -> None:
    """npm's 'command failed' is weak: the failing script's real error wins."""
    # Hand-written from npm 10's output for a failing `npm run build` that runs tsc.
    text = (
        "> shop@1.0.0 build\n> tsc -p .\n\n"
        "src/a.ts(3,7): error TS2322: Type 'string' is not assignable to type 'number'.\n"
        "npm error code 2\nnpm error path /srv/shop\nnpm error command failed\n"
        "npm error command sh -c tsc -p .\n"
    )
    assert [f.tool for f in parse_output(text).failures] == ["tsc"]


def test_eslint_warnings_alone_are_not_failures() -> None:
    """ESLint warnings do not fail a run unless --max-warnings was exceeded."""
    # Hand-written from ESLint's stylish formatter.
    warnings_only = "\n/srv/a.js\n  1:1  warning  Unexpected console statement  no-console\n\n"
    summary = "\u2716 1 problem (0 errors, 1 warning)\n"
    assert parse_output(warnings_only + summary).failures == ()
    too_many = warnings_only + summary + "\nESLint found too many warnings (maximum: 0).\n"
    assert [f.error_type for f in parse_output(too_many).failures] == ["no-console"]


def test_old_rust_panic_format_is_understood() -> None:
    """Rust before 1.73 put the panic message inside the 'panicked at' line."""
    # Hand-written from Rust 1.70's test output.
    text = "thread 'tests::it_works' panicked at 'boom', src/lib.rs:10:5\n"
    first = parse_output(text, command="cargo test").failures[0]
    assert (first.tool, first.test, first.message, first.line) == (
        "cargo",
        "tests::it_works",
        "boom",
        10,
    )


def test_go_subtest_failure_keeps_the_subtest_name() -> None:
    """A failing subtest is reported with its full 'Parent/child' name."""
    # Hand-written from `go test` output for t.Run subtests.
    text = (
        "--- FAIL: TestParse (0.00s)\n"
        "    --- FAIL: TestParse/empty (0.00s)\n"
        "        parse_test.go:21: got error <nil>, want ErrEmpty\n"
        "FAIL\nFAIL\texample.com/parse\t0.004s\n"
    )
    failures = parse_output(text).failures
    assert failures[-1].test == "TestParse/empty"
    assert (failures[-1].file, failures[-1].line) == ("parse_test.go", 21)


def test_surefire_two_format_gives_the_test_id() -> None:
    """Surefire 2's 'method(Class)' header is read as Class.method."""
    # Hand-written from maven-surefire-plugin 2.22's output.
    text = (
        "[ERROR] totalAddsPrices(shop.CartTest)  Time elapsed: 0.01 s  <<< FAILURE!\n"
        "org.opentest4j.AssertionFailedError: expected: <6> but was: <12>\n"
        "\tat org.junit.jupiter.api.AssertEquals.failNotEqual(AssertEquals.java:197)\n"
        "\tat shop.CartTest.totalAddsPrices(CartTest.java:11)\n"
        "[INFO] BUILD FAILURE\n"
    )
    first = parse_output(text).failures[0]
    assert (first.test, first.file, first.line) == (
        "shop.CartTest.totalAddsPrices",
        "CartTest.java",
        11,
    )


def test_old_kotlin_diagnostic_format_is_understood() -> None:
    """Kotlin before 1.8 printed 'e: /path/File.kt: (8, 22): message'."""
    # Hand-written from Kotlin 1.7's Gradle output.
    text = (
        "> Task :app:compileKotlin FAILED\n"
        "e: /srv/app/src/Cart.kt: (8, 22): Unresolved reference: x\n"
    )
    first = parse_output(text).failures[0]
    assert (first.tool, first.line, first.column) == ("gradle", 8, 22)


def test_same_named_tests_in_two_files_keep_their_own_ids() -> None:
    """Two failing ``test_x`` in different files are matched to their own summary ids."""
    # Hand-written from pytest's default (--tb=auto) failure blocks.
    block = "_____ test_x _____\n\n    def test_x():\n>       assert {v}\nE       assert {v}\n\n"
    text = (
        "=================================== FAILURES ===================================\n"
        + block.format(v=0) + "tests/test_a.py:2: AssertionError\n"
        + block.format(v=False) + "tests/test_b.py:2: AssertionError\n"
        "=========================== short test summary info ============================\n"
        "FAILED tests/test_a.py::test_x - assert 0\n"
        "FAILED tests/test_b.py::test_x - assert False\n"
        "============================== 2 failed in 0.01s ===============================\n"
    )  # fmt: skip
    failures = parse_output(text).failures
    assert [(f.test, f.message) for f in failures] == [
        ("tests/test_a.py::test_x", "assert 0"),
        ("tests/test_b.py::test_x", "assert False"),
    ]


def test_generic_fallback_reads_bare_locations_but_not_warnings() -> None:
    """An unknown tool's ``path:line: message`` is a guess; its warnings are not."""
    text = "lint.cfg:3: unknown key 'colour'\nstyle.css:9: deprecated property\n"
    failures = parse_output(text).failures
    assert [(f.file, f.line, f.message) for f in failures] == [
        ("lint.cfg", 3, "unknown key 'colour'")
    ]
