"""Runs the selected sections in a temporary directory and assembles the report."""

from __future__ import annotations

import importlib
import os
import platform
import shutil
import sqlite3
import sys
import tempfile
import time
import traceback
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

from vigil import __version__
from vigil.bench import SECTIONS
from vigil.bench.harness import Context, Result, vigil_home
from vigil.bench.machine import CpuWatch
from vigil.clock import SystemClock, isoformat


def select(only: Sequence[str]) -> list[str]:
    """The sections named in ``--only`` values (repeatable, comma lists), in run order.

    Nothing named means all of them; an unknown name raises :class:`ValueError`.
    """
    if not only:
        return list(SECTIONS)
    choices = f"choose from {', '.join(SECTIONS)}"
    wanted: set[str] = set()
    for value in only:
        for name in (part.strip() for part in value.split(",")):
            if not name:
                raise ValueError(f"--only {value!r} has an empty section name ({choices})")
            if name not in SECTIONS:
                raise ValueError(f"unknown section {name!r} ({choices})")
            wanted.add(name)
    return [name for name in SECTIONS if name in wanted]


def _load() -> list[float] | None:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return None


def _run_section(name: str, ctx: Context) -> dict[str, Any]:
    started = time.perf_counter()
    watch = CpuWatch()
    try:
        module = importlib.import_module(f"vigil.bench.{name}")
        result = module.run(ctx)
        if not isinstance(result, Result):
            raise TypeError(f"section {name} returned {type(result).__name__}, not Result")
        body = result.to_dict()
    except Exception as exc:  # noqa: BLE001 -- isolation: a crashed section must not lose the rest
        ctx.stream.write("".join(traceback.format_exception(exc)))
        body = {"pass": False, "error": f"{type(exc).__name__}: {exc}"}
    body["elapsed_s"] = round(time.perf_counter() - started, 2)
    body["other_cpu_share"] = watch.other_share()
    return body


def build_report(
    names: Sequence[str], *, quick: bool, stream: TextIO | None = None
) -> dict[str, Any]:
    """Run ``names`` (in order) and return the report."""
    out = sys.stderr if stream is None else stream
    started = time.perf_counter()
    meta: dict[str, Any] = {
        "vigil": __version__,
        "started": isoformat(SystemClock().now()),
        "quick": quick,
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "load_start": _load(),
    }
    sections: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="vigil-bench-") as tmp:
        root = Path(tmp)
        # A safety net: anything that falls back to the default home lands here, never in ~.
        with vigil_home(root / "default-home"):
            for name in names:
                ctx = Context(root=root / name, quick=quick, stream=out)
                ctx.root.mkdir()
                ctx.say(f"{name}: running{' (quick)' if quick else ''}")
                body = _run_section(name, ctx)
                verdict = "error" if "error" in body else ("pass" if body["pass"] else "MISS")
                others = body["other_cpu_share"]
                busy = f", other processes used {others:.0%} of the CPUs" if others else ""
                ctx.say(f"{name}: {verdict} in {body['elapsed_s']} s{busy}")
                sections[name] = body
                shutil.rmtree(ctx.root, ignore_errors=True)
    meta["load_end"] = _load()
    meta["elapsed_s"] = round(time.perf_counter() - started, 2)
    return {
        "meta": meta,
        "pass": bool(sections) and all(body["pass"] for body in sections.values()),
        "sections": sections,
    }
