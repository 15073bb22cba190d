"""red_state: what keeping a failing run's red state adds to that run.

When ``vigil run`` fails, the text of the dirty files is kept (``Vigil.keep_red_state``: read,
verified against the blob ids, redacted, stored once per content) so that the fix learned when
it turns green can show its diff. Measured on real git repositories whose dirty files are real
Python sources (Vigil's own), edited before every sample: 1 and 10 files of median size, and the
100 largest (past the per-run cap of 256 KB). ``same_content`` is a failing loop that changed
nothing (mostly the lookup). Baseline, same run and repositories: ``git_state``, which every run
already pays. Targets: with 10 typical dirty files it adds under half of ``git_state``'s cost
(p50 ratio); at the cap, p95 under 60 ms.
"""

from __future__ import annotations

import subprocess
import time
from pathlib import Path
from typing import Any

from vigil.bench import stats
from vigil.bench.harness import Check, Context, Result, vigil_home
from vigil.config import load_settings
from vigil.events import catalog

SOURCES = Path(__file__).resolve().parents[1]
TARGET_TYPICAL_VS_GIT = 0.5  # 10 dirty files: at most half of what git_state already costs
TARGET_CAPPED_P95_MS = 60.0  # 100 dirty files, 256 KB kept


def _repo(root: Path, files: list[Path]) -> Path:
    repo = root / f"repo-{len(files)}"
    repo.mkdir()
    git = ["git", "-c", "user.name=bench", "-c", "user.email=bench@example.com"]
    subprocess.run([*git, "init", "-q"], cwd=repo, check=True)
    for i, source in enumerate(files):
        (repo / f"m{i}.py").write_text(source.read_text(encoding="utf-8"), encoding="utf-8")
    subprocess.run([*git, "add", "."], cwd=repo, check=True)
    subprocess.run([*git, "commit", "-qm", "initial"], cwd=repo, check=True)
    return repo


def run(ctx: Context) -> Result:
    from vigil.app import Vigil
    from vigil.sources.git import git_state

    samples = ctx.size(40, 8)
    sources = sorted(SOURCES.rglob("*.py"), key=lambda p: (p.stat().st_size, str(p)))
    result = Result()
    home = ctx.directory("home")
    with vigil_home(home), Vigil.open(load_settings()) as app:
        app.ensure_schema()
        _ = app.snapshots  # its migration is not a run's cost
        for label, count in (("one_file", 1), ("ten_files", 10), ("hundred_files", 100)):
            # Typical source files (the middle of Vigil's by size); the 100 largest hit the cap.
            middle = len(sources) // 2
            chosen = sources[-count:] if count == 100 else sources[middle : middle + count]
            repo = _repo(ctx.directory(label), chosen)
            ctx.say(f"red_state: {count} dirty files, {samples} failing runs")
            new: list[int] = []
            same: list[int] = []
            state: list[int] = []
            for sample in range(samples):
                for i, source in enumerate(chosen):
                    text = source.read_text(encoding="utf-8") + f"# edit {sample}\n"
                    (repo / f"m{i}.py").write_text(text, encoding="utf-8")
                started = time.perf_counter_ns()
                git = git_state(repo)
                state.append(time.perf_counter_ns() - started)
                data: dict[str, Any] = {
                    "command": "bench",
                    "argv": [],
                    "cwd": str(repo),
                    "git": git,
                }
                failed = app.event(catalog.BUILD_RUN_FAILED, data, subject="bench")
                started = time.perf_counter_ns()
                app.keep_red_state(failed)
                new.append(time.perf_counter_ns() - started)
                started = time.perf_counter_ns()
                app.keep_red_state(failed)
                same.append(time.perf_counter_ns() - started)
            size = sum((repo / f"m{i}.py").stat().st_size for i in range(count))
            result.figures[label] = {
                "dirty_files": count,
                "dirty_kb": round(size / 1024, 1),
                "new_content": stats.latency(new),
                "same_content": stats.latency(same),
            }
            result.baseline[f"{label}_git_state"] = stats.latency(state)
            result.ratio[f"{label}_p50_vs_git_state"] = stats.ratio(
                result.figures[label]["new_content"]["p50"],
                result.baseline[f"{label}_git_state"]["p50"],
            )
        result.figures["store"] = app.snapshots.stats()
    typical = result.ratio["ten_files_p50_vs_git_state"]
    capped = result.figures["hundred_files"]["new_content"]["p95"]
    result.checks.append(Check("ten_files_p50_vs_git_state", typical, "<", TARGET_TYPICAL_VS_GIT))
    result.checks.append(Check("hundred_files_p95_ms", capped, "<", TARGET_CAPPED_P95_MS))
    return result
