"""The loghub samples: where they are, how to read them, how to score a parser on them.

The eight systems the project keeps live in ``shared/data/loghub/`` beside the repository (any
parent folder's ``shared/`` counts, so a worktree finds it too); ``VIGIL_LOGHUB_DIR`` points
elsewhere, e.g. at a full loghub checkout with all sixteen systems: every ``NAME/NAME_2k.log_
structured.csv`` found there is scored.

Grouping accuracy is loghub's: a line counts as right when the group it was given holds exactly
the lines of its true template (the ``EventId`` column), no more and no fewer. A parser is fed
either the CSV's ``Content`` (the message, its header already cut off with loghub's per-system
format) or the raw ``NAME_2k.log`` lines (header and all, as a log file really is).
"""

from __future__ import annotations

import csv
import os
from collections import Counter, defaultdict
from collections.abc import Hashable, Sequence
from pathlib import Path

SHARED_SYSTEMS = ("Apache", "BGL", "HDFS", "Hadoop", "Linux", "OpenSSH", "Spark", "Zookeeper")


def find_loghub() -> Path | None:
    """The loghub folder: ``$VIGIL_LOGHUB_DIR``, else ``shared/data/loghub`` in a parent of the
    repository."""
    env = os.environ.get("VIGIL_LOGHUB_DIR")
    if env:
        path = Path(env)
        return path if path.is_dir() else None
    for parent in Path(__file__).resolve().parents:
        candidate = parent / "shared" / "data" / "loghub"
        if candidate.is_dir():
            return candidate
    return None


def systems(root: Path) -> list[str]:
    """Every system in ``root`` with a structured 2k sample, sorted."""
    return sorted(
        entry.name
        for entry in root.iterdir()
        if (entry / f"{entry.name}_2k.log_structured.csv").is_file()
    )


def load(root: Path, system: str) -> tuple[list[str], list[str]]:
    """The ``Content`` column (what a parser is fed) and the true template ids."""
    path = root / system / f"{system}_2k.log_structured.csv"
    with path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    return [row["Content"] for row in rows], [row["EventId"] for row in rows]


def load_raw(root: Path, system: str) -> tuple[Path, list[str], list[str]]:
    """The raw ``NAME_2k.log`` (headers and all: what ``vigil logs templates`` is given), its
    lines, and the true template id of each (the structured CSV's rows are its lines, in order)."""
    path = root / system / f"{system}_2k.log"
    text = path.read_bytes().decode("utf-8", errors="replace")
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    truth = load(root, system)[1]
    if len(lines) != len(truth):
        raise ValueError(f"{path}: {len(lines)} lines, {len(truth)} structured rows")
    return path, lines, truth


def grouping_accuracy(predicted: Sequence[Hashable], truth: Sequence[str]) -> float:
    """loghub's grouping accuracy of ``predicted`` group ids against ``truth``."""
    if len(predicted) != len(truth):
        raise ValueError("one prediction per line")
    if not truth:
        return 1.0
    groups: dict[Hashable, list[int]] = defaultdict(list)
    for index, group in enumerate(predicted):
        groups[group].append(index)
    sizes = Counter(truth)
    right = 0
    for members in groups.values():
        labels = {truth[i] for i in members}
        if len(labels) == 1 and sizes[truth[members[0]]] == len(members):
            right += len(members)
    return right / len(truth)
