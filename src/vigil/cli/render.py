"""Terminal rendering of a diagnosis: short, scannable, coloured only on a terminal."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TextIO

_COLOURS = {"red": "31", "green": "32", "yellow": "33", "blue": "34", "dim": "2", "bold": "1"}


class Style:
    def __init__(self, stream: TextIO) -> None:
        self.enabled = hasattr(stream, "isatty") and stream.isatty()

    def __call__(self, text: str, colour: str) -> str:
        if not self.enabled:
            return text
        return f"\x1b[{_COLOURS[colour]}m{text}\x1b[0m"


def _ago(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f}s"
    if seconds < 5400:
        return f"{seconds / 60:.0f}m"
    if seconds < 129600:
        return f"{seconds / 3600:.0f}h"
    return f"{seconds / 86400:.0f}d"


def render_diagnosis(
    diagnosis: dict[str, Any],
    stream: TextIO,
    *,
    header: str | None = None,
    event_id: str | None = None,
) -> None:
    """Print a diagnosis (``Diagnosis.to_dict()``) for a person."""
    s = Style(stream)
    out: list[str] = []
    if header:
        out.append(s(f"── vigil ── {header}", "bold"))
    out.append(f"  {s(diagnosis['summary'], 'red')}")
    failures = diagnosis["failures"]
    for failure in failures[:8]:
        where = failure.get("file") or ""
        if where and failure.get("line"):
            where += f":{failure['line']}"
        test = failure.get("test") or ""
        label = " ".join(p for p in (where, test if test != where else "") if p)
        kind = f"{failure['error_type']}: " if failure.get("error_type") else ""
        message = (kind + failure["message"])[:160]
        out.append(f"  {s('✗', 'red')} {label}  {message}" if label else f"  ✗ {message}")
    if len(failures) > 8:
        out.append(s(f"  … and {len(failures) - 8} more", "dim"))
    history = diagnosis.get("history") or {}
    if history.get("seen"):
        text = f"seen {history['seen']} time{'s' if history['seen'] != 1 else ''} before"
        if history.get("first_seen"):
            text += f", first {history['first_seen'][:16].replace('T', ' ')}"
        if history.get("flaky"):
            text += s(", flaky: it also passed on this same tree", "yellow")
        out.append(f"  history: {text}")
    elif diagnosis.get("fingerprint"):
        flaky = history.get("flaky")
        out.append("  history: first time seen" + (s(" (flaky)", "yellow") if flaky else ""))
    for fix in diagnosis["known_fixes"][:3]:
        out += _fix_lines(fix, s)
    suspects = diagnosis["suspects"]
    if suspects:
        since = diagnosis.get("since_pass") or {}
        when = f" (last green {since['time'][:16].replace('T', ' ')})" if since else ""
        out.append(f"  suspects, changed since the last green run{when}:")
        for suspect in suspects[:5]:
            stat = ""
            if suspect.get("added") is not None:
                stat = f" +{suspect['added']} -{suspect['removed']}"
            reason = suspect["reasons"][0] if suspect["reasons"] else ""
            out.append(f"    {s(suspect['path'], 'yellow')}{s(stat, 'dim')}  {reason}")
    for note in diagnosis.get("notes") or []:
        out.append(s(f"  note: {note}", "dim"))
    tail = f"fingerprint {diagnosis['fingerprint'] or '-'}"
    tail += f" · triage {diagnosis['elapsed_ms']:.0f} ms"
    if event_id:
        tail += f" · vigil events --id {event_id}"
    out.append(s(f"  {tail}", "dim"))
    stream.write("\n".join(out) + "\n")
    stream.flush()


def _fix_lines(fix: Mapping[str, Any], s: Style) -> list[str]:
    """A known fix: what it is, how sure, and for a learned fix the lines it changed."""
    if fix["match"] == "fingerprint" and fix["kind"] == "fix":
        lead = "last time this was fixed by"
    elif fix["match"] == "fingerprint":
        lead = f"known {fix['kind']}"
    else:
        lead = f"similar {fix['kind']}"
        similarity = fix.get("similarity")
        if isinstance(similarity, int | float):
            because = f": {fix['because']}" if fix.get("because") else ""
            lead += f" ({similarity:.0%} similar{because})"
    status = "" if fix["status"] == "active" else f" ({fix['status']}"
    if status:
        status += f", confidence {fix['confidence']:.2f}, seen {fix['seen']}x)"
    lines = [
        f"  {s('→', 'green')} {lead}: {s(fix['title'], 'green')}{status} {s(fix['id'], 'dim')}"
    ]
    key = fix.get("key_change")
    if isinstance(key, Mapping) and key.get("lines"):
        lines.append(s(f"      {key.get('path', '')}:", "dim"))
        for line in list(key["lines"])[:4]:
            lines.append(f"        {s(str(line), 'red' if str(line).startswith('-') else 'green')}")
    else:
        files = fix.get("files") or []
        if files and fix["match"] == "fingerprint":
            lines.append(s(f"      changed: {', '.join(files[:5])}", "dim"))
    return lines


def render_enrichment(data: Mapping[str, Any], stream: TextIO) -> None:
    """The model's (or the rules') short explanation and next step, after the diagnosis."""
    s = Style(stream)
    who = str(data.get("provider", "?"))
    model = data.get("model")
    if model and model not in (who, "rules-1"):
        who += f" {model}"
    seconds = float(data.get("elapsed_ms", 0)) / 1000
    stream.write(f"  {s('✎', 'blue')} {data.get('explanation', '')}\n")
    stream.write(
        f"    {s('next:', 'bold')} {data.get('next_step', '')} "
        + s(f"({who}, {seconds:.1f} s)", "dim")
        + "\n"
    )
    stream.flush()


def render_pending(models: tuple[str, ...], event_id: str, stream: TextIO) -> None:
    """Say where the model's explanation will appear (nobody waits for it at the prompt)."""
    s = Style(stream)
    who = ", ".join(models[:2])
    stream.write(
        s(f"  ✎ {who} will explain this in the background: vigil why {event_id}", "dim") + "\n"
    )
    stream.flush()
