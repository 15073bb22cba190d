"""The command line's parser: complete help, mistakes named by their command, cheap start-up.

Start-up time itself is measured by ``make bench`` (section ``startup``); here the structure that
makes it cheap is pinned: what a read command imports, and what it does not.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.cli.helpers import vigil
from vigil.cli.main import COMMANDS, build_parser

# What the read path must never load: the event model (dataclasses pull in inspect), the
# composition root, the knowledge base's CLI, typing, logging, TOML without a config file, and
# what argparse's help formatter and the database's lock would pull in by default.
HEAVY = (
    "dataclasses",
    "shutil",
    "threading",
    "inspect",
    "typing",
    "logging",
    "tomllib",
    "vigil.app",
    "vigil.events.model",
    "vigil.cli.kb",
    "vigil.memory.knowledge",  # the package itself is lazy: the session mark imports it
    "vigil.storage.redact",
    "socket",
    "asyncio",
)


def _loaded_after(args: list[str], home: Path) -> set[str]:
    """The modules loaded once ``vigil ARGS`` has run in a fresh interpreter."""
    script = (
        "import contextlib, io, json, sys\n"
        "from vigil.cli.main import main\n"
        "try:\n"
        "    with contextlib.redirect_stdout(io.StringIO()):\n"
        "        code = main(sys.argv[1:])\n"
        "except SystemExit as exc:\n"
        "    code = exc.code\n"
        "print(json.dumps([code, sorted(sys.modules)]))\n"
    )
    env = {**os.environ, "VIGIL_HOME": str(home)}
    done = subprocess.run(
        [sys.executable, "-c", script, *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    code, modules = json.loads(done.stdout.strip().splitlines()[-1])
    assert code == 0
    return set(modules)


@pytest.mark.parametrize("args", [["--version"], ["events", "--limit", "1"]])
def test_read_commands_load_nothing_heavy(tmp_path: Path, args: list[str]) -> None:
    """``vigil --version`` and ``vigil events`` (on a home without config.toml) load none of the
    heavy modules: not the event model, the app, the kb CLI, typing, logging or TOML."""
    home = tmp_path / "fresh-home"
    loaded = _loaded_after(args, home)
    assert sorted(m for m in HEAVY if m in loaded) == []


def test_top_level_help_lists_every_command_with_its_help_line(home: Path) -> None:
    """``vigil --help`` lists every command, each with the same help line as when every
    command's parser is built in full."""
    done = vigil("--help", home=home)
    assert done.returncode == 0, done.stderr
    for name in COMMANDS:
        assert f"\n    {name}" in done.stdout
    assert build_parser(["--help"]).format_help() == build_parser().format_help()


def test_each_command_has_its_full_help(home: Path) -> None:
    """``vigil COMMAND --help`` shows that command's own options (here: kb's, events')."""
    kb = vigil("kb", "--help", home=home)
    assert kb.returncode == 0 and "search" in kb.stdout and "import" in kb.stdout
    events = vigil("events", "--help", home=home)
    assert events.returncode == 0 and "--follow" in events.stdout and "--limit" in events.stdout


def test_a_misspelt_flag_names_the_command_and_the_closest_flag(home: Path) -> None:
    """``vigil events --limt 3`` is refused in one line that names ``vigil events``, its help,
    and ``--limit``; nothing is printed on stdout."""
    done = vigil("events", "--limt", "3", home=home)
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr.strip() == (
        "vigil events: unrecognized arguments: --limt "
        "(did you mean --limit? see vigil events --help)"
    )


def test_a_misspelt_flag_of_a_nested_command_names_that_command(home: Path) -> None:
    """A typo under ``kb search`` or ``service install`` names that command's own help."""
    done = vigil("kb", "search", "x", "--lmit=3", home=home)
    assert done.returncode == 2
    assert done.stderr.strip() == (
        "vigil kb search: unrecognized arguments: --lmit=3 "
        "(did you mean --limit? see vigil kb search --help)"
    )
    done = vigil("service", "install", "--prnt", home=home)
    assert "(did you mean --print? see vigil service install --help)" in done.stderr


def test_an_unknown_flag_with_nothing_close_still_points_to_the_help(home: Path) -> None:
    """A flag far from every known one gets no guess, only the command's help."""
    done = vigil("events", "--zzzzzz", home=home)
    assert done.returncode == 2
    assert done.stderr.strip() == (
        "vigil events: unrecognized arguments: --zzzzzz (see vigil events --help)"
    )


def test_service_install_writes_the_port_into_the_unit(home: Path) -> None:
    """``vigil service install --port N`` starts the unit's daemon on that port; a port out of
    range is one clear error."""
    done = vigil("service", "install", "--user", "--print", "--port", "8765", home=home)
    assert done.returncode == 0, done.stderr
    start = next(line for line in done.stdout.splitlines() if line.startswith("ExecStart="))
    assert start.endswith(" up --port 8765")
    bad = vigil("service", "install", "--user", "--print", "--port", "70000", home=home)
    assert bad.returncode != 0 and bad.stdout == ""
    assert len(bad.stderr.strip().splitlines()) == 1 and "70000" in bad.stderr
