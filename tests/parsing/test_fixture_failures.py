"""Every committed tool output parses to the failure a developer would point at first."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.parsing.conftest import read_command
from vigil.parsing import parse_output

Reader = Callable[[str], tuple[str, str | None]]


@dataclass(frozen=True)
class Expect:
    """What the first failure of one output must look like (None means "must be None")."""

    case: str
    tool: str
    file: str | None
    line: int | None
    test: str | None
    error_type: str | None
    message: str
    count: int = 1


# fmt: off
EXPECTED = [
    Expect("pytest/assertion", "pytest", "tests/test_calc.py", 6, "tests/test_calc.py::test_add",
           "AssertionError", "assert 0 == 2"),
    Expect("pytest/assertion.moved", "pytest", "tests/test_calc.py", 12,
           "tests/test_calc.py::test_add", "AssertionError", "assert 0 == 2"),
    Expect("pytest/assertion.other", "pytest", "tests/test_calc.py", 6,
           "tests/test_calc.py::test_add", "KeyError", "'total'"),
    Expect("pytest/assertion.color", "pytest", "tests/test_calc.py", 6,
           "tests/test_calc.py::test_add", "AssertionError", "assert 0 == 2"),
    Expect("pytest/library", "pytest", "tests/config.py", 5,
           "tests/test_config.py::test_load_config", "JSONDecodeError",
           "Expecting property name enclosed in double quotes"),
    Expect("pytest/library.quiet", "pytest", "tests/config.py", 5,
           "tests/test_config.py::test_load_config", "JSONDecodeError",
           "Expecting property name enclosed in double quotes"),
    Expect("pytest/library.other", "pytest", "tests/test_config.py", 5,
           "tests/test_config.py::test_load_config", "UnicodeDecodeError",
           "can't decode byte 0xff"),
    Expect("pytest/collection", "pytest", "tests/test_import.py", 1, "tests/test_import.py",
           "ModuleNotFoundError", "No module named 'yamlish_does_not_exist'"),
    Expect("pytest/collection.other", "pytest", "tests/test_import.py", 5, "tests/test_import.py",
           "SyntaxError", "'{' was never closed"),
    Expect("pytest/tmp_path", "pytest", "tests/test_store.py", 2,
           "tests/test_store.py::test_read_store", "FileNotFoundError",
           "No such file or directory"),
    Expect("pytest/twins", "pytest", "tests/test_twins.py", 6,
           "tests/test_twins.py::test_double_one", "AssertionError", "assert 3 == 2", count=2),
    Expect("unittest/failure", "unittest", "tests/test_money.py", 10,
           "tests.test_money.TestMoney.test_cents", "AssertionError", "15 != 150"),
    Expect("unittest/failure.other", "unittest", "tests/test_money.py", 5,
           "tests.test_money.TestMoney.test_cents", "TypeError", "unsupported operand type(s)"),
    Expect("python/traceback", "python", "report.py", 6, None, "JSONDecodeError",
           "Expecting property name"),
    Expect("python/traceback.other", "python", "report.py", 11, None, "KeyError", "'host'"),
    Expect("mypy/arg_type", "mypy", "src/shop/cart.py", 6, None, "arg-type",
           'Argument 1 to "total" has incompatible type "str"'),
    Expect("mypy/arg_type.other", "mypy", "src/shop/cart.py", 6, None, "name-defined",
           'Name "totl" is not defined'),
    Expect("ruff/full", "ruff", "src/shop/price.py", 1, None, "F401", "`os` imported but unused"),
    Expect("ruff/full.other", "ruff", "src/shop/price.py", 1, None, "F401",
           "`json` imported", count=2),
    Expect("ruff/concise", "ruff", "src/shop/price.py", 1, None, "F401",
           "`os` imported but unused"),
    Expect("flake8/unused", "flake8", "src/shop/price.py", 1, None, "F401",
           "'os' imported but unused"),
    Expect("flake8/unused.other", "flake8", "src/shop/price.py", 1, None, "F401",
           "'json' imported but unused", count=2),
    Expect("tsc/ts2322", "tsc", "src/index.ts", 7, None, "TS2322",
           "Type 'string' is not assignable to type 'number'."),
    Expect("tsc/ts2322.pretty", "tsc", "src/index.ts", 7, None, "TS2322",
           "Type 'string' is not assignable to type 'number'."),
    Expect("tsc/ts2322.other", "tsc", "src/index.ts", 7, None, "TS2552",
           "Cannot find name 'ageOf'"),
    Expect("eslint/stylish", "eslint", "src/cart.js", 2, None, "no-unused-vars",
           "'unused' is assigned a value but never used"),
    Expect("eslint/stylish.other", "eslint", "src/cart.js", 3, None, "no-undef",
           "'taxRate' is not defined"),
    Expect("jest/expect", "jest", "sum.test.js", 5, "sum \u203a adds two numbers", "toBe",
           "Expected: 3, Received: 4"),
    Expect("jest/expect.color", "jest", "sum.test.js", 5, "sum \u203a adds two numbers", "toBe",
           "Expected: 3, Received: 4"),
    Expect("jest/expect.other", "jest", "sum.test.js", 5, "sum \u203a adds two numbers",
           "TypeError", "toUpperCase is not a function"),
    Expect("node/uncaught", "node", "app.js", 4, None, "Error",
           "ENOENT: no such file or directory"),
    Expect("node/uncaught.other", "node", "app.js", 4, None, "TypeError",
           'The "path" argument must be of type string'),
    Expect("npm/missing_script", "npm", None, None, None, "missing script",
           'Missing script: "buidl"'),
    Expect("npm/failing_script", "generic", None, None, None, None, "3 checks failed"),
    Expect("cargo/build_error", "cargo", "src/main.rs", 3, None, "E0308", "mismatched types"),
    Expect("cargo/build_error.color", "cargo", "src/main.rs", 3, None, "E0308", "mismatched types"),
    Expect("cargo/build_error.other", "cargo", "src/main.rs", 3, None, "E0425",
           "cannot find value `txt` in this scope"),
    Expect("cargo/test_panic", "cargo", "src/lib.rs", 11, "tests::mean_of_two", "panic",
           "assertion `left == right` failed (left: 3, right: 4)"),
    Expect("cargo/test_panic.color", "cargo", "src/lib.rs", 11, "tests::mean_of_two", "panic",
           "assertion `left == right` failed"),
    Expect("cargo/test_panic.other", "cargo", "src/lib.rs", 2, "tests::mean_of_two", "panic",
           "attempt to divide by zero"),
    Expect("rustc/build_error", "rustc", "src/main.rs", 3, None, "E0308", "mismatched types"),
    Expect("gcc/compile", "gcc", "parse.c", 6, None, None, "\u2018missing_offset\u2019 undeclared"),
    Expect("gcc/compile.other", "gcc", "parse.c", 5, None, None,
           "expected expression before \u2018;\u2019 token"),
    Expect("gcc/link", "ld", "main.c", None, None, "undefined reference",
           "undefined reference to `checksum'"),
    Expect("clang/compile", "clang", "parse.c", 6, None, None,
           "use of undeclared identifier 'missing_offset'"),
    Expect("clang/link", "ld", "main.c", None, None, "undefined reference",
           "undefined reference to `checksum'"),
    Expect("ld64/undefined", "ld", None, None, None, "undefined symbol",
           'Undefined symbols for architecture arm64: "_checksum"'),
    Expect("make/only_make", "make", "Makefile", 5, None, "Error 1", "[check] Error 1"),
    Expect("make/with_gcc", "gcc", "parse.c", 6, None, None, "missing_offset"),
    Expect("javac/cannot_find_symbol", "javac", "Inventory.java", 5, None, "cannot find symbol",
           "cannot find symbol: variable itemz"),
    Expect("javac/cannot_find_symbol.other", "javac", "Inventory.java", 5, None,
           "incompatible types", "String cannot be converted to int"),
    Expect("maven/compile", "maven", "src/main/java/shop/Cart.java", 8, None, "cannot find symbol",
           "cannot find symbol: variable pricez"),
    Expect("maven/compile.other", "maven", "src/main/java/shop/Cart.java", 8, None,
           "incompatible types", "Integer cannot be converted to java.lang.String"),
    Expect("maven/surefire", "maven", "CartTest.java", 11, "shop.CartTest.totalAddsPrices",
           "AssertionFailedError", "expected: <6> but was: <12>"),
    Expect("gradle/compile_java", "gradle", "/home/dev/shop/app/src/main/java/shop/Cart.java", 8,
           None, "cannot find symbol", "cannot find symbol: variable pricez"),
    Expect("gradle/compile_kotlin", "gradle", "/home/dev/shop/app/src/main/kotlin/shop/Cart.kt", 8,
           None, "kotlin", "Unresolved reference 'pricez'."),
    Expect("gradle/test_failure", "gradle", "CartTest.java", 11, "CartTest.totalAddsPrices",
           "AssertionFailedError", "AssertionFailedError"),
    Expect("go/test_fail", "go", "calc_test.go", 7, "TestAdd", None, "Add(2, 2) = 0, want 4"),
    Expect("go/test_fail.other", "go", "calc_test.go", 7, "TestAdd", None,
           "unexpected sum 0 for inputs 2 and 2"),
    Expect("go/test_panic", "go", "stack.go", 6, "TestPopEmpty", "panic",
           "runtime error: index out of range [-1]"),
    Expect("go/build_error", "go", "main.go", 5, None, None,
           'imported and not used: "os"', count=2),
    Expect("go/build_error.other", "go", "main.go", 9, None, None, "undefined: lookupPort"),
    Expect("go/test_build_error", "go", "calc_test.go", 6, None, None, "undefined: Sub"),
    Expect("go/vet", "go", "main.go", 7, None, None,
           "fmt.Printf format %d has arg name of wrong type string"),
    Expect("pylint/undefined", "pylint", "src/shop/basket.py", 8, None, "E0602",
           "Undefined variable 'quantity'"),
    Expect("pyright/arg_type", "pyright", "src/shop/cart.py", 6, None, "reportArgumentType",
           'Argument of type "Literal[\'12\']" cannot be assigned to parameter "prices"'),
    Expect("pyright/arg_type.other", "pyright", "src/shop/cart.py", 6, None,
           "reportUndefinedVariable", '"totl" is not defined'),
    Expect("vitest/expect", "vitest", "price.test.js", 6, "withTax > adds the rate",
           "AssertionError", "expected 121 to be 120"),
    Expect("vitest/expect.other", "vitest", "price.js", 2, "withTax > adds the rate", "TypeError",
           "Cannot read properties of undefined (reading 'value')"),
    Expect("clang++/compile", "clang", "ledger.cpp", 7, None, None,
           "use of undeclared identifier 'opening_balance'"),
    Expect("clang++/compile.other", "clang", "ledger.cpp", 7, None, None,
           "invalid operands to binary expression"),
    Expect("clang++/link", "ld", "main.cpp", None, None, "undefined reference",
           "undefined reference to `ledger::balance(int)'"),
    Expect("make/subdir", "gcc", "native/hello.c", 5, None, None,
           "\u2018greeting\u2019 undeclared"),
    Expect("make/subdir.other", "gcc", "native/hello.c", 5, None, None, "expected expression"),
    Expect("make/recursive", "gcc", "native/hello.c", 5, None, None,
           "\u2018greeting\u2019 undeclared"),
    Expect("make/subdir_silent", "gcc", "native/hello.c", 5, None, None,
           "\u2018greeting\u2019 undeclared"),
    Expect("make/noisy", "gcc", "parse.c", 6, None, None, "\u2018missing_offset\u2019 undeclared"),
    Expect("ninja/relative", "gcc", "src/hello.c", 5, None, None,
           "\u2018greeting\u2019 undeclared"),
    Expect("cmake/configure", "cmake", "CMakeLists.txt", 4, None, "add_executable",
           "Cannot find source file: src/ledgr.c", count=2),
    Expect("cmake/configure.other", "cmake", "CMakeLists.txt", 4, None, "target_link_libraries",
           'Cannot specify link libraries for target "ledger"'),
    Expect("cmake/find_module", "cmake", "CMakeLists.txt", 7, None, "message",
           "Could NOT find ZLIB"),
    Expect("cmake/build_ninja", "gcc", "src/ledger.c", 5, None, None,
           "\u2018greeting\u2019 undeclared"),
    Expect("java/runtime", "java", "Prices.java", 9, None, "NumberFormatException",
           'For input string: "twelve"'),
    Expect("java/runtime.other", "java", "Prices.java", 9, None, "IndexOutOfBoundsException",
           "Index: 2 Size: 2"),
    # Manifests: named by the output, or (for these recorded runs, whose directory is gone) not
    # at all; test_manifest_errors_point_at_the_manifest_on_disk runs them with the project there.
    Expect("npm/bad_json", "npm", "package.json", None, None, "EJSONPARSE",
           "Invalid package.json"),
    Expect("cargo/unknown_dependency", "cargo", "Cargo.toml", None, None, None,
           "no matching package named `serde_jsonx` found"),
    Expect("maven/bad_pom", "maven", "pom.xml", 20, None, "pom",
           "'dependencies.dependency.version' for org.junit.jupiter:junit-jupiter-engine:jar is "
           "missing"),
    Expect("maven/unresolved_dependency", "maven", None, None, None, None,
           "Could not resolve dependencies for project dev.vigil.fixture:shop:jar:1.0"),
    Expect("pip/pyproject_dependency", "generic", "pyproject.toml", None, None, None,
           "Could not find a version that satisfies the requirement nosuchdep-vigil-fixture",
           count=2),
    Expect("pip/requirements", "generic", None, None, None, None,
           "Could not find a version that satisfies the requirement nosuchdep-vigil-fixture",
           count=2),
    # The same failures inside CI logs whose every line carries a time stamp.
    Expect("ci/github_pytest", "pytest", "tests/config.py", 5,
           "tests/test_config.py::test_load_config", "JSONDecodeError",
           "Expecting property name enclosed in double quotes"),
    Expect("ci/clock_python", "python", "report.py", 6, None, "JSONDecodeError",
           "Expecting property name"),
    Expect("ci/github_tsc", "tsc", "src/index.ts", 7, None, "TS2322",
           "Type 'string' is not assignable to type 'number'."),
    Expect("ci/clock_cargo", "cargo", "src/main.rs", 3, None, "E0308", "mismatched types"),
    Expect("pytest/noisy", "pytest", "tests/test_rates.py", 12,
           "tests/test_rates.py::test_rate_on_leap_day", "AssertionError", "assert 1.3 == 1.5"),
]
# fmt: on


@pytest.mark.parametrize("expect", EXPECTED, ids=[e.case for e in EXPECTED])
def test_first_failure_matches_the_tools_report(expect: Expect, output: Reader) -> None:
    """The first failure of each real output names the right tool, place, test, type and text."""
    text, cwd = output(expect.case)
    result = parse_output(text, cwd=cwd, command=read_command(expect.case))
    assert len(result.failures) == expect.count
    first = result.failures[0]
    assert first.tool == expect.tool
    assert first.file == expect.file
    assert first.line == expect.line
    assert first.test == expect.test
    assert first.error_type == expect.error_type
    assert expect.message in first.message
    assert "\n" not in first.message and "\x1b" not in first.message
    assert expect.tool in result.tools


@pytest.mark.parametrize(
    ("case", "tools"),
    [
        ("gcc/link", {"ld"}),
        ("make/with_gcc", {"gcc", "make"}),
        ("pytest/passing", {"pytest"}),
    ],
)
def test_every_tool_in_the_output_is_listed(case: str, tools: set[str], output: Reader) -> None:
    """``tools`` lists each tool whose output is present, not only the one that failed first."""
    text, cwd = output(case)
    assert set(parse_output(text, cwd=cwd).tools) == tools


def test_a_passing_pytest_run_has_no_failures(output: Reader) -> None:
    """A green pytest run yields no failures and an empty run fingerprint."""
    text, cwd = output("pytest/passing")
    result = parse_output(text, cwd=cwd)
    assert result.failures == ()
    assert result.fingerprint == ""


def test_without_cwd_the_file_is_the_deepest_non_library_frame(output: Reader) -> None:
    """With no cwd, a traceback through the stdlib still points at the script's own frame."""
    text, _ = output("python/traceback")
    first = parse_output(text).failures[0]
    assert first.file is not None
    assert first.file.startswith("/tmp/") and first.file.endswith("/traceback/report.py")
    assert first.line == 6


def test_maven_compile_errors_printed_twice_are_reported_once(output: Reader) -> None:
    """Maven repeats each compiler error under "Failed to execute goal"; one failure remains."""
    text, cwd = output("maven/compile")
    assert text.count("cannot find symbol") == 2
    assert len(parse_output(text, cwd=cwd).failures) == 1


def test_every_committed_output_is_checked() -> None:
    """Each base output file has an expectation here, so no fixture is silently unused."""
    outputs = Path(__file__).resolve().parent.parent / "fixtures" / "outputs"
    variants = (".moved", ".other", ".color")
    base_cases = {
        str(path.relative_to(outputs))[: -len(".txt")]
        for path in outputs.glob("*/*.txt")
        if not path.stem.endswith(variants)
    }
    checked = {expect.case for expect in EXPECTED} | {"pytest/passing"}
    assert base_cases <= checked, sorted(base_cases - checked)


def test_the_bench_labels_agree_with_these_expectations() -> None:
    """outputs/labels.json (the triage_accuracy bench's tuned part) says what EXPECTED says."""
    outputs = Path(__file__).resolve().parent.parent / "fixtures" / "outputs"
    labels = json.loads((outputs / "labels.json").read_text(encoding="utf-8"))
    labelled = {case: label for case, label in labels.items() if not case.startswith("_")}
    expected = {
        e.case: {"tool": e.tool, "file": e.file, "line": e.line, "message": e.message}
        for e in EXPECTED
    }
    assert labelled == expected


def test_every_held_out_output_is_labelled() -> None:
    """Each output under outputs/heldout has a label, and each label has its output."""
    outputs = Path(__file__).resolve().parent.parent / "fixtures" / "outputs"
    labels = json.loads((outputs / "heldout-labels.json").read_text(encoding="utf-8"))
    cases = {str(p.relative_to(outputs))[: -len(".txt")] for p in outputs.glob("heldout/*/*.txt")}
    assert cases == {case for case in labels if not case.startswith("_")}
