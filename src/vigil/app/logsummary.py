"""``vigil logs templates`` and ``vigil logs summarize``: a saved log file, read once.

* :func:`read_lines` reads a file (or stdin) in chunks of lines, as bytes, so anything is
  readable: bytes that are not UTF-8 become U+FFFD, control characters go, and a 10 MB line is
  one line (mined on its head). A missing file, a directory or an unreadable file is one clear
  :class:`InputError` / :class:`NotFoundError` before anything is printed.
* :func:`templates` gives each input line its template, online, with a fresh miner: the answer
  for a line never depends on the lines after it nor on what this machine saw before.
* :func:`summarize` joins continuation lines into records, mines them with a miner that starts
  from every stored template (so "new" means new to this Vigil), and writes the summary.

The written part goes through the reasoning chain only where it is switched on for the step
``"logs_summary"`` (``[reasoning] embedded_steps``, where the reasoning layer has it; off by
default: the deterministic text from :func:`vigil.parsing.logsummary.written_summary` is the
answer unless a model was asked for and gave a grounded one).
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from vigil.config import Settings
from vigil.errors import InputError, NotFoundError
from vigil.parsing.loglines import RecordJoiner, clean, decode, parse_record
from vigil.parsing.logprofile import HeaderProfile
from vigil.parsing.logsummary import SummaryBuilder, written_summary
from vigil.parsing.templates import Template, TemplateMiner

STEP = "logs_summary"
CHUNK_LINES = 8192
MODEL_DEADLINE_S = 20.0


def _open(path: str) -> IO[bytes]:
    if path == "-":
        return sys.stdin.buffer
    target = Path(path)
    try:
        return target.open("rb")
    except FileNotFoundError:
        raise NotFoundError(f"no such file: {path}") from None
    except IsADirectoryError:
        raise InputError(f"{path} is a directory, not a log file") from None
    except PermissionError:
        raise InputError(f"cannot read {path}: permission denied") from None
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror}") from None


def read_lines(path: str) -> Iterator[list[str]]:
    """The file's lines (cleaned text), in chunks."""
    handle = _open(path)
    try:
        chunk: list[str] = []
        while True:
            try:
                raw = handle.readline()
            except OSError as exc:
                raise InputError(f"cannot read {path}: {exc.strerror}") from None
            if not raw:
                break
            chunk.append(clean(decode(raw)))
            if len(chunk) >= CHUNK_LINES:
                yield chunk
                chunk = []
        if chunk:
            yield chunk
    finally:
        if handle is not sys.stdin.buffer:
            handle.close()


def templates(path: str) -> Iterator[tuple[str, Template]]:
    """Each line with its template, mined on its message (the header left out; JSON lines: their
    message field)."""
    miner = TemplateMiner()
    profile = HeaderProfile()
    for chunk in read_lines(path):
        yield from zip(chunk, line_templates(chunk, miner, profile), strict=True)


def line_templates(
    lines: list[str], miner: TemplateMiner, profile: HeaderProfile
) -> list[Template]:
    """The template of each raw line, mined on its message; ``profile``: the file's header
    profile so far (its first lines, when ``lines`` are the file's first, are looked at first)."""
    profile.prime(lines)  # the first lines, once: see vigil.parsing.logprofile
    return miner.add_many([_message(line, profile) for line in lines])


def _message(line: str, profile: HeaderProfile) -> str:
    """What a line is mined on: its message, less the header (time, level, component...)."""
    if line.lstrip().startswith("{"):
        return parse_record(line).headline
    end = profile.end(line)
    return line[end:] if end else line


def summarize(
    path: str, stored: list[Any] | None = None, year: int | None = None
) -> tuple[dict[str, Any], TemplateMiner]:
    """The summary of a file (numbers only; see :func:`written`). ``year``: for syslog times."""
    from vigil.app.logfollow import to_records

    records = to_records(stored or [])
    miner = TemplateMiner(records)
    builder = SummaryBuilder(known=frozenset(r.id for r in records))
    joiner = RecordJoiner(year)
    for chunk in read_lines(path):
        joiner.prime(chunk)  # the first lines, once: see vigil.parsing.logprofile
        batch = []
        for line in chunk:
            batch += joiner.feed(line)
        _mine(miner, builder, batch)
    _mine(miner, builder, joiner.flush())
    summary = builder.result()
    summary["file"] = path
    return summary, miner


def _mine(miner: TemplateMiner, builder: SummaryBuilder, records: list[Any]) -> None:
    if not records:
        return
    found = miner.add_many([r.headline for r in records])
    for record, template in zip(records, found, strict=True):
        builder.add(record, template.id, template.text)


def model_enabled(settings: Settings) -> bool:
    """Whether the step ``logs_summary`` may use a model (off unless configured)."""
    steps = getattr(settings, "embedded_steps", None) or ()
    return STEP in steps


async def written(summary: dict[str, Any], chain: Any | None) -> dict[str, Any]:
    """The written summary: the rules' text, or a model's when ``chain`` is given and a
    non-rules provider answers with text that keeps to the facts."""
    rules = written_summary(summary)
    result: dict[str, Any] = {"text": rules, "by": "rules", "step": STEP}
    if chain is None or not summary["records"]:
        return result
    import json
    import time

    from vigil.reasoning.provider import Message, Request

    facts = {
        key: summary[key]
        for key in (
            "records",
            "span",
            "rate_per_minute",
            "templates",
            "top_templates",
            "new_templates",
            "error_share",
            "warning_share",
            "first_error",
        )
    }
    request = Request(
        messages=(
            Message(
                "system",
                "Summarize this log for a developer in at most three sentences. Use only the "
                "facts given; quote numbers as given.",
            ),
            Message("user", json.dumps(facts, ensure_ascii=False)[:6000]),
        ),
        max_tokens=200,
    )
    try:
        run = await chain.complete(request, deadline=time.monotonic() + MODEL_DEADLINE_S)
    except Exception as exc:  # noqa: BLE001 - the rules' text stands
        result["model_error"] = str(exc)
        return result
    text = run.value.text.strip()
    if run.kind == "rules" or not text:
        return result
    numbers = {str(summary["records"]), f"{summary['records']:,}"}
    if not any(n in text for n in numbers):  # not grounded in the facts: keep the rules' text
        result["model_rejected"] = run.provider
        return result
    return {"text": text, "by": run.provider, "model": run.model, "step": STEP, "rules": rules}
