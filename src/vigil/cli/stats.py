"""``vigil stats [--json]``: latency, success rate and resource use, with trends.

Reads the metrics the daemon flushed to the state database (it flushes every minute, so the
current minute may be missing): for each metric and label set, the last hour against the 24 hours
before it. A home without metrics prints an empty report and gets no new tables. Imports
neither the web stack nor prometheus_client.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from vigil.clock import Clock
    from vigil.config import Settings

P = TypeVar("P", bound=argparse.ArgumentParser)


def add_parser(subparsers: argparse._SubParsersAction[P]) -> P:
    """Register ``stats`` on ``subparsers``."""
    stats = subparsers.add_parser(
        "stats", help="latency, success rate and resource use, with trends"
    )
    stats.add_argument("--json", action="store_true", help="print JSON")
    stats.set_defaults(func=cmd_stats)
    return stats


def cmd_stats(args: argparse.Namespace) -> int:
    from vigil.cli.context import settings

    data = collect_stats(settings())
    if args.json:
        print(json.dumps(data, ensure_ascii=False))
    else:
        print(render(data), end="")
    return 0


def collect_stats(config: Settings, clock: Clock | None = None) -> dict[str, Any]:
    """The report for ``config.home`` at ``clock``'s now, with whether the daemon runs."""
    from vigil.clock import SystemClock
    from vigil.events.doorbell import is_listening
    from vigil.reliability.metrics import ensure_schema, report
    from vigil.storage import Database

    now = (clock or SystemClock()).now()
    data = None
    if config.db_path.exists():
        with Database(config.db_path) as db:
            recorded = db.query_one(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'metric_rollups'"
            )
            if recorded is not None:  # a reading command never creates the tables itself
                ensure_schema(db)  # refuses a schema from a newer Vigil
                data = report(db, now)
    if data is None:
        data = report(None, now)
    running = is_listening(config.home)
    data["daemon_running"] = running
    if data["resources"] is not None:
        data["resources"]["daemon_running"] = running
    return data


# -- rendering --------------------------------------------------------------------------------


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    if seconds < 0.001:
        return f"{seconds * 1e6:.0f}µs"
    if seconds < 1:
        return f"{seconds * 1000:.3g}ms"
    return f"{seconds:.3g}s"


def _number(value: float | None) -> str:
    if value is None:
        return "-"
    if abs(value) >= 1e9:
        return f"{value / 1e9:.3g}G"
    if abs(value) >= 1e6:
        return f"{value / 1e6:.3g}M"
    if abs(value) >= 1e4:
        return f"{value / 1e3:.3g}k"
    return f"{value:.4g}"


def _bytes(value: float | None) -> str:
    if value is None:
        return "-"
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return "-"  # pragma: no cover - the loop always returns


def _table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    """Columns aligned: the first two and the last to the left, numbers to the right."""
    widths = [max(len(r[i]) for r in [headers, *rows]) for i in range(len(headers))]
    left = {0, 1, len(headers) - 1}
    lines = []
    for row in [headers, *rows]:
        cells = [
            cell.ljust(widths[i]) if i in left else cell.rjust(widths[i])
            for i, cell in enumerate(row)
        ]
        lines.append("  ".join(cells).rstrip())
    return lines


def _labels(labels: dict[str, str]) -> str:
    return ",".join(f"{k}={v}" for k, v in labels.items()) or "-"


def render(data: dict[str, Any]) -> str:
    """The report for a person: one aligned table per kind of metric, then resources."""
    out = [f"vigil stats: last hour vs the 24 h before it (at {data['generated'][:19]}Z)", ""]
    by_kind: dict[str, list[dict[str, Any]]] = {"timer": [], "counter": [], "gauge": []}
    for metric in data["metrics"]:
        by_kind.setdefault(metric["kind"], []).append(metric)
    if not data["metrics"]:
        out += ["no metrics recorded yet (the daemon records them while it runs: vigil up)", ""]
    if by_kind["timer"]:
        rows = []
        for m in by_kind["timer"]:
            h = m["last_hour"]
            ok = "-" if h["success_rate"] is None else f"{h['success_rate'] * 100:.1f}%"
            rows.append(
                [
                    m["name"],
                    _labels(m["labels"]),
                    str(h["count"]),
                    _number(h["rate_per_min"]),
                    ok,
                    _duration(h["p50"]),
                    _duration(h["p95"]),
                    _duration(h["p99"]),
                    m["trend"]["summary"],
                ]
            )
        headers = ["timing", "labels", "calls", "/min", "success", "p50", "p95", "p99", "trend"]
        out += [*_table(headers, rows), ""]
    if by_kind["counter"]:
        rows = [
            [
                m["name"],
                _labels(m["labels"]),
                str(m["last_hour"]["count"]),
                _number(m["last_hour"]["rate_per_min"]),
                m["trend"]["summary"],
            ]
            for m in by_kind["counter"]
        ]
        out += [*_table(["counter", "labels", "count", "/min", "trend"], rows), ""]
    if by_kind["gauge"]:
        rows = []
        for m in by_kind["gauge"]:
            h = m["last_hour"]
            show = _bytes if m["name"].endswith("_bytes") else _number
            cells = [show(h["last"]), show(h["min"]), show(h["max"])]
            rows.append([m["name"], _labels(m["labels"]), *cells, m["trend"]["summary"]])
        out += [*_table(["gauge", "labels", "last", "min", "max", "trend"], rows), ""]
    out += _resources(data)
    return "\n".join(out) + "\n"


def _resources(data: dict[str, Any]) -> list[str]:
    running = data.get("daemon_running")
    state = "running" if running else "not running (start it with: vigil up)"
    sample = data["resources"]
    if sample is None:
        return [f"daemon      {state}", "resources   no sample yet"]
    age = sample["age_s"]
    when = f"{age:.0f}s ago" if age < 120 else f"{age / 60:.0f} min ago"
    if not running:
        when += ", before the daemon stopped"
    cpu = "-" if sample["cpu_percent"] is None else f"{sample['cpu_percent']:.1f}%"
    return [
        f"daemon      {state}",
        f"resources   pid {sample['pid']}, sampled {when}",
        f"            cpu {cpu} ({sample['cpu_seconds']:.1f} s total)  "
        f"rss {_bytes(sample['rss_bytes'])}  fds {sample['open_fds']}  "
        f"threads {sample['threads']}  home {_bytes(sample['home_bytes'])}",
    ]
