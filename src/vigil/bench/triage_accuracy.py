"""triage_accuracy: does triage name the place a developer would go, on real tools' outputs?

Corpus: the committed real outputs under ``tests/fixtures/outputs`` with their labels, in two
parts that are scored apart:

* ``tuned`` (``outputs/labels.json``): the outputs the parsers were written and tuned against
  (tests/parsing/test_fixture_failures.py pins the same cases);
* ``heldout`` (``outputs/heldout-labels.json``, outputs in ``outputs/heldout/``): cases labelled
  from their projects' bugs before their outputs were generated, and never used to tune a parser.

Each case is parsed as ``vigil triage --log`` would (``parse_output`` with the recorded cwd and,
where one was recorded, the command). Its first failure scores ``located`` when the file and the
line equal the label's (a label's ``null`` line means "no line"), and ``correct`` when it is also
from the labelled tool and its message holds the label's fragment. Reported per tool and
overall, for each part. Baseline, same run: the location a reader gets from the first
``path:line`` on an error line (what a grep for ``error`` would show).
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from pathlib import Path
from typing import Any

from vigil.bench.harness import Check, Context, Result

OUTPUTS = Path(__file__).resolve().parents[3] / "tests" / "fixtures" / "outputs"
PARTS = {"tuned": "labels.json", "heldout": "heldout-labels.json"}
TARGET_TUNED = 0.95
TARGET_HELDOUT = 0.6
_GREP = re.compile(r"(?P<file>[\w./-]+\.[A-Za-z]\w{0,7}):(?P<line>\d+)")


def _cases(part: str) -> list[tuple[str, dict[str, Any]]]:
    path = OUTPUTS / PARTS[part]
    if not path.is_file():
        return []
    labels = json.loads(path.read_text(encoding="utf-8"))
    return [(case, label) for case, label in labels.items() if not case.startswith("_")]


def _read(case: str) -> tuple[str, str | None, str | None]:
    text = (OUTPUTS / f"{case}.txt").read_text(encoding="utf-8", errors="replace")
    extra = []
    for suffix in (".cwd", ".cmd"):
        file = OUTPUTS / f"{case}{suffix}"
        extra.append(file.read_text(encoding="utf-8").strip() if file.is_file() else None)
    return text, extra[0], extra[1]


def _grep(text: str, cwd: str | None) -> tuple[str | None, int | None]:
    """The baseline: the first ``path:line`` on a line that says error."""
    for line in text.splitlines():
        if "error" not in line.lower():
            continue
        match = _GREP.search(line)
        if match is not None:
            file = match["file"]
            if cwd and file.startswith(cwd.rstrip("/") + "/"):
                file = file[len(cwd.rstrip("/")) + 1 :]
            return file, int(match["line"])
    return None, None


def _score(part: str) -> dict[str, Any]:
    from vigil.parsing import parse_output

    per_tool: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    misses: list[dict[str, Any]] = []
    for case, label in _cases(part):
        text, cwd, command = _read(case)
        failures = parse_output(text, cwd=cwd, command=command).failures
        first = failures[0] if failures else None
        located = first is not None and (first.file, first.line) == (label["file"], label["line"])
        correct = (
            located
            and first is not None
            and first.tool == label["tool"]
            and label["message"] in first.message
        )
        grep_file, grep_line = _grep(text, cwd)
        counts = per_tool[label["tool"]]
        counts["cases"] += 1
        counts["located"] += int(located)
        counts["correct"] += int(correct)
        counts["grep_located"] += int((grep_file, grep_line) == (label["file"], label["line"]))
        if not correct:
            misses.append(
                {
                    "case": case,
                    "want": [label["tool"], label["file"], label["line"]],
                    "got": [first.tool, first.file, first.line] if first else None,
                }
            )
    total = {key: sum(counts[key] for counts in per_tool.values()) for key in _KEYS}
    return {
        "cases": total["cases"],
        "located": _share(total["located"], total["cases"]),
        "correct": _share(total["correct"], total["cases"]),
        "grep_located": _share(total["grep_located"], total["cases"]),
        "per_tool": {
            tool: {
                "cases": counts["cases"],
                "located": _share(counts["located"], counts["cases"]),
                "correct": _share(counts["correct"], counts["cases"]),
            }
            for tool, counts in sorted(per_tool.items())
        },
        "misses": misses,
    }


_KEYS = ("cases", "located", "correct", "grep_located")


def _share(part: int, whole: int) -> float | None:
    return round(part / whole, 3) if whole else None


def run(ctx: Context) -> Result:
    result = Result()
    for part in PARTS:
        ctx.say(f"triage_accuracy: scoring the {part} corpus")
        scored = _score(part)
        result.figures[part] = {
            key: value for key, value in scored.items() if key != "grep_located"
        }
        result.baseline[f"{part}_grep_located"] = scored["grep_located"]
        if scored["located"] is not None and scored["grep_located"]:
            result.ratio[f"{part}_located_vs_grep"] = round(
                scored["located"] / scored["grep_located"], 3
            )
    result.checks.append(
        Check("tuned_correct", result.figures["tuned"]["correct"], ">=", TARGET_TUNED)
    )
    result.checks.append(
        Check("heldout_correct", result.figures["heldout"]["correct"], ">=", TARGET_HELDOUT)
    )
    result.notes.append(
        "tuned: outputs the parsers were written against; heldout: labelled before generation, "
        "never tuned on"
    )
    return result
