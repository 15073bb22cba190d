"""What a log says, in numbers and in a few written sentences, without a model.

:class:`SummaryBuilder` takes records one by one (so a file of any size is summarized in one
pass, in bounded memory) with the template each one got, and :meth:`SummaryBuilder.result`
gives the time span, the record rate, the top templates with counts and shares, the templates
that are new (not among the ``known`` ids the miner started from), the error and warning shares
and the lines around the first error. :func:`written_summary` turns that into a short text,
deterministically: the floor a model may only improve on.
"""

from __future__ import annotations

from collections import Counter, deque
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from vigil.clock import isoformat
from vigil.parsing.loglines import ERROR_RANK, WARNING_RANK, LogRecord

TOP = 10
CONTEXT = 3
LINE_CHARS = 300


def _short(text: str, limit: int = LINE_CHARS) -> str:
    text = text.replace("\n", " ⏎ ")
    return text if len(text) <= limit else text[: limit - 1] + "…"


@dataclass(slots=True)
class SummaryBuilder:
    """Accumulates a summary; see the module docstring."""

    known: frozenset[str] = frozenset()
    records: int = 0
    lines: int = 0
    errors: int = 0
    warnings: int = 0
    levels: Counter[str] = field(default_factory=Counter)
    counts: Counter[str] = field(default_factory=Counter)
    texts: dict[str, str] = field(default_factory=dict)
    first_line: dict[str, int] = field(default_factory=dict)
    first_time: datetime | None = None
    last_time: datetime | None = None
    timed: int = 0
    truncated: int = 0
    _before: deque[tuple[int, str]] = field(default_factory=lambda: deque(maxlen=CONTEXT))
    _first_error: dict[str, Any] | None = None
    _after_left: int = 0

    def add(self, record: LogRecord, template_id: str, template: str) -> None:
        self.records += 1
        line_no = self.lines + 1
        self.lines += record.lines
        self.truncated += record.truncated
        self.levels[record.level or "unknown"] += 1
        if record.rank >= ERROR_RANK:
            self.errors += 1
        elif record.rank >= WARNING_RANK:
            self.warnings += 1
        self.counts[template_id] += 1
        self.texts[template_id] = template
        self.first_line.setdefault(template_id, line_no)
        if record.time is not None:
            self.timed += 1
            if self.first_time is None or record.time < self.first_time:
                self.first_time = record.time
            if self.last_time is None or record.time > self.last_time:
                self.last_time = record.time
        text = _short(record.raw or record.message)
        if self._first_error is not None and self._after_left > 0:
            self._first_error["after"].append({"line": line_no, "text": text})
            self._after_left -= 1
        if self._first_error is None and record.rank >= ERROR_RANK:
            self._first_error = {
                "line": line_no,
                "text": text,
                "template_id": template_id,
                "before": [{"line": n, "text": t} for n, t in self._before],
                "after": [],
            }
            self._after_left = CONTEXT
        self._before.append((line_no, text))

    def result(self) -> dict[str, Any]:
        span_s: float | None = None
        if self.first_time is not None and self.last_time is not None:
            span_s = (self.last_time - self.first_time).total_seconds()
        per_minute = None
        if span_s is not None and span_s > 0:
            per_minute = round(self.records / (span_s / 60.0), 3)
        total = max(self.records, 1)
        top = [
            {
                "template_id": tid,
                "template": self.texts[tid],
                "count": count,
                "share": round(count / total, 4),
            }
            for tid, count in self.counts.most_common(TOP)
        ]
        new = [
            {
                "template_id": tid,
                "template": self.texts[tid],
                "count": self.counts[tid],
                "first_line": self.first_line[tid],
            }
            for tid in sorted(self.counts, key=lambda t: self.first_line[t])
            if tid not in self.known
        ]
        return {
            "records": self.records,
            "lines": self.lines,
            "truncated": self.truncated,
            "span": {
                "first": isoformat(self.first_time) if self.first_time else None,
                "last": isoformat(self.last_time) if self.last_time else None,
                "seconds": span_s,
                "timed_records": self.timed,
            },
            "rate_per_minute": per_minute,
            "templates": len(self.counts),
            "top_templates": top,
            "new_templates": new,
            "known_templates": len(self.known),
            "levels": dict(self.levels.most_common()),
            "error_share": round(self.errors / total, 4) if self.records else 0.0,
            "warning_share": round(self.warnings / total, 4) if self.records else 0.0,
            "first_error": self._first_error,
        }


def _duration(seconds: float) -> str:
    seconds = round(seconds)
    if seconds < 60:
        return f"{seconds}s"
    minutes, secs = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes}m {secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours}h {minutes:02d}m"
    days, hours = divmod(hours, 24)
    return f"{days}d {hours}h"


def _pct(share: float) -> str:
    value = share * 100
    return f"{value:.1f}%" if value < 10 else f"{value:.0f}%"


def written_summary(summary: dict[str, Any]) -> str:
    """A few sentences from the numbers; the same summary always gives the same text."""
    records = summary["records"]
    if not records:
        return "The log is empty."
    parts: list[str] = []
    span = summary["span"]["seconds"]
    head = f"{records:,} records"
    if span:
        head += f" over {_duration(span)}"
        if summary["rate_per_minute"] is not None:
            head += f" ({summary['rate_per_minute']:,.1f}/min)"
    head += f", {summary['templates']:,} templates."
    parts.append(head)
    top = summary["top_templates"][:3]
    if top:
        covered = sum(t["share"] for t in top)
        names = "; ".join(f"{_short(t['template'], 80)} ({_pct(t['share'])})" for t in top)
        lead = "Most common" if len(top) < 3 else f"The top 3 are {_pct(covered)} of it"
        parts.append(f"{lead}: {names}.")
    errors, warnings = summary["error_share"], summary["warning_share"]
    if errors or warnings:
        parts.append(f"Errors {_pct(errors)}, warnings {_pct(warnings)}.")
    else:
        parts.append("No errors or warnings.")
    first = summary["first_error"]
    if first:
        parts.append(f"First error at line {first['line']}: {_short(first['text'], 160)}")
    new = summary["new_templates"]
    if summary["known_templates"] and new:
        shown = "; ".join(_short(t["template"], 80) for t in new[:3])
        more = f" (and {len(new) - 3} more)" if len(new) > 3 else ""
        parts.append(f"{len(new)} templates never seen before: {shown}{more}.")
    elif summary["known_templates"]:
        parts.append("Nothing new against the stored templates.")
    return " ".join(parts)
