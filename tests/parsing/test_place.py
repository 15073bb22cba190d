"""Where a failure is shown: make/ninja directories, manifests on disk, JVM source roots.

The real outputs come from tests/fixtures/outputs; a "staged" case copies the project the output
came from into tmp_path and rewrites the recorded directory to it, so the run's files are on disk
as they are when ``vigil run`` or ``vigil triage`` reads an output in its project. Snippets written
inline are HAND-WRITTEN from the tools' documented formats, each marked as such.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.parsing.conftest import OUTPUTS, read_command
from vigil.parsing import parse_output
from vigil.parsing.directories import initial_directory

PROJECTS = OUTPUTS.parent / "projects"
Reader = Callable[[str], tuple[str, str | None]]


def _staged(case: str, project: str, root: Path) -> tuple[str, str]:
    """The output of ``case`` as if its project (a copy of ``project``) were still on disk."""
    text, recorded = (OUTPUTS / f"{case}.txt").read_text(), (OUTPUTS / f"{case}.cwd").read_text()
    staged = root / Path(project).name
    shutil.copytree(PROJECTS / project, staged)
    return text.replace(recorded.strip(), str(staged)), str(staged)


def test_make_dash_c_reports_the_file_under_the_directory_make_entered(output: Reader) -> None:
    """`make -C native` prints hello.c:5; the failure is native/hello.c:5, relative to the run."""
    text, cwd = output("make/subdir")
    failure = parse_output(text, cwd=cwd).failures[0]
    assert (failure.file, failure.line) == ("native/hello.c", 5)


def test_without_cwd_the_entered_directory_is_kept_absolute(output: Reader) -> None:
    """With no cwd to be relative to, the file is the absolute path make entered plus the name."""
    text, cwd = output("make/recursive")
    failure = parse_output(text).failures[0]
    assert failure.file == f"{cwd}/native/hello.c"


def test_the_directory_never_changes_the_fingerprint(output: Reader) -> None:
    """The same error reads native/hello.c with the command hint and hello.c without; one hash."""
    text, cwd = output("make/subdir_silent")
    command = read_command("make/subdir_silent")
    hinted = parse_output(text, cwd=cwd, command=command).failures[0]
    bare = parse_output(text, cwd=cwd).failures[0]
    entered, entered_cwd = output("make/subdir")
    via_entering = parse_output(entered, cwd=entered_cwd).failures[0]
    assert (hinted.file, bare.file) == ("native/hello.c", "hello.c")
    assert hinted.fingerprint == bare.fingerprint == via_entering.fingerprint


def test_ninja_paths_relative_to_its_build_directory_become_project_paths(output: Reader) -> None:
    """ninja -C build compiling ../src/hello.c reports src/hello.c."""
    text, cwd = output("ninja/relative")
    assert parse_output(text, cwd=cwd).failures[0].file == "src/hello.c"


def test_nested_make_levels_pop_back_to_the_outer_directory() -> None:
    """After make[2] leaves lib/, errors printed by make[1] in app/ belong to app/."""
    # Hand-written: a recursive GNU make (make 4.x's Entering/Leaving lines), two compilers.
    text = (
        "make[1]: Entering directory '/w/p/app'\n"
        "make[2]: Entering directory '/w/p/app/lib'\n"
        "util.c:3:1: error: unknown type name 'sizet'\n"
        "make[2]: Leaving directory '/w/p/app/lib'\n"
        "main.c:9:5: error: expected ';' before 'return'\n"
        "make[1]: Leaving directory '/w/p/app'\n"
    )
    files = [f.file for f in parse_output(text, cwd="/w/p").failures]
    assert files == ["app/lib/util.c", "app/main.c"]


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        ("make -C native", "native"),
        ("make --directory=native/sub all", "native/sub"),
        ("make -Cnative", "native"),
        ("ninja -C build", "build"),
        ("cmake --build out --target app", "out"),
        ("make all", None),
        ("pytest -C x", None),
    ],
)
def test_initial_directory_from_the_command(command: str, expected: str | None) -> None:
    """make -C / --directory, ninja -C and cmake --build name the directory the tool works in."""
    assert initial_directory(command) == expected


def test_an_absolute_path_is_not_rebased() -> None:
    """cmake passes absolute source paths; they stay as they are (relative to cwd)."""
    # Hand-written: `cmake --build build` with the Makefile generator.
    text = "gmake[2]: Entering directory '/w/p/build'\n/w/p/src/a.c:2:1: error: boom\n"
    assert parse_output(text, cwd="/w/p").failures[0].file == "src/a.c"


@pytest.mark.parametrize(
    ("case", "project", "file", "line"),
    [
        ("npm/missing_script", "node/npm_missing", "package.json", None),
        ("cargo/unknown_dependency", "rust/unknown_dep", "Cargo.toml", 7),
        ("maven/unresolved_dependency", "java/maven_unresolved", "pom.xml", 16),
        ("pip/requirements", "python/pip_requirements", "requirements.txt", 2),
        ("pip/pyproject_dependency", "python/pip_pyproject", "pyproject.toml", 9),
        ("maven/bad_pom", "java/maven_bad_pom", "pom.xml", 20),
    ],
)
def test_manifest_errors_point_at_the_manifest_on_disk(
    case: str, project: str, file: str, line: int | None, tmp_path: Path
) -> None:
    """Missing scripts and dependencies point at the manifest, at the line declaring the name."""
    text, cwd = _staged(case, project, tmp_path)
    first = parse_output(text, cwd=cwd).failures[0]
    assert (first.file, first.line) == (file, line)


def test_no_manifest_is_named_when_it_is_not_there(output: Reader, tmp_path: Path) -> None:
    """A missing script in a directory without package.json points at no file at all."""
    text, _ = output("npm/missing_script")
    assert parse_output(text, cwd=str(tmp_path)).failures[0].file is None


def test_manifest_placing_keeps_the_fingerprint(tmp_path: Path) -> None:
    """Pointing at Cargo.toml on disk does not change the failure's fingerprint."""
    text, cwd = _staged("pip/requirements", "python/pip_requirements", tmp_path)
    on_disk = parse_output(text, cwd=cwd)
    away = parse_output(text, cwd=str(tmp_path / "elsewhere"))
    assert on_disk.failures[0].file == "requirements.txt" and away.failures[0].file is None
    assert on_disk.fingerprint == away.fingerprint


@pytest.mark.parametrize(
    ("case", "project", "file"),
    [
        ("java/runtime", "java/runtime", "src/main/java/shop/Prices.java"),
        ("maven/surefire", "java/maven_test", "src/test/java/shop/CartTest.java"),
    ],
)
def test_jvm_frames_are_found_under_the_source_roots(
    case: str, project: str, file: str, tmp_path: Path
) -> None:
    """A JVM frame's Prices.java is the project's src/main/java/shop/Prices.java when it is."""
    text, cwd = _staged(case, project, tmp_path)
    assert parse_output(text, cwd=cwd).failures[0].file == file


def test_the_user_frame_below_jdk_frames_is_chosen(output: Reader) -> None:
    """NumberFormatException thrown in java.base is placed at the user's Prices.parse line."""
    text, cwd = output("java/runtime")
    failure = parse_output(text, cwd=cwd).failures[0]
    assert (failure.file, failure.line) == ("Prices.java", 9)
    assert "java.base/" in text.splitlines()[1]


def test_a_root_cause_gives_the_type_and_the_place() -> None:
    """With Caused by: sections, the last cause's type, message and user frame are reported."""
    # Hand-written: a JVM trace with a wrapped cause, as printed by the default handler.
    text = (
        'Exception in thread "main" java.lang.RuntimeException: load failed\n'
        "\tat shop.App.main(App.java:12)\n"
        "Caused by: java.io.FileNotFoundException: prices.csv (No such file or directory)\n"
        "\tat java.base/java.io.FileInputStream.open0(Native Method)\n"
        "\tat java.base/java.io.FileInputStream.open(FileInputStream.java:216)\n"
        "\tat shop.Loader.read(Loader.java:30)\n"
        "\t... 1 more\n"
    )
    failure = parse_output(text).failures[0]
    assert (failure.tool, failure.error_type) == ("java", "FileNotFoundException")
    assert (failure.file, failure.line) == ("Loader.java", 30)
