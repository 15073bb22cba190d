"""``vigil logs templates|summarize|follow``: templates of a log, its summary, following it."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any, TypeVar

P = TypeVar("P", bound=argparse.ArgumentParser)


def add_parser(subparsers: argparse._SubParsersAction[P]) -> P:
    """Register ``logs`` and its subcommands on ``subparsers``."""
    logs = subparsers.add_parser("logs", help="log templates, summaries and following")
    sub = logs.add_subparsers(
        dest="logs_command", metavar="COMMAND", parser_class=type(logs), required=True
    )
    templates = sub.add_parser("templates", help="the template of every line of a log")
    templates.add_argument("file", metavar="FILE", help="the log ('-': stdin)")
    templates.add_argument(
        "--jsonl",
        action="store_true",
        help='one JSON object per line: {"line", "template_id", "template"}',
    )
    templates.set_defaults(func=cmd_templates)

    summarize = sub.add_parser("summarize", help="what a log says: span, rate, templates, errors")
    summarize.add_argument("file", metavar="FILE", help="the log ('-': stdin)")
    summarize.add_argument("--json", action="store_true", help="print JSON")
    summarize.set_defaults(func=cmd_summarize)

    follow = sub.add_parser(
        "follow", help="follow a log like tail -F, with templates and anomalies"
    )
    follow.add_argument("path", metavar="PATH", help="the log file")
    follow.add_argument("--from-start", action="store_true", help="read what is already there")
    follow.add_argument("--json", action="store_true", help="one JSON object per record")
    follow.set_defaults(func=cmd_follow)
    return logs


def cmd_templates(args: argparse.Namespace) -> int:
    from vigil.app.logsummary import templates

    out = sys.stdout
    dumps = json.dumps
    for line, template in templates(args.file):
        if args.jsonl:
            out.write(
                dumps(
                    {"line": line, "template_id": template.id, "template": template.text},
                    ensure_ascii=False,
                )
            )
        else:
            out.write(f"{template.id}\t{template.text}")
        out.write("\n")
    out.flush()
    return 0


def cmd_summarize(args: argparse.Namespace) -> int:
    import asyncio

    from vigil.app.logsummary import model_enabled, summarize, written
    from vigil.cli.context import open_vigil
    from vigil.errors import StorageError

    with open_vigil() as vigil:
        try:
            stored = vigil.log_state.templates()
        except StorageError:
            stored = []  # a home that cannot be written: summarize without the stored ones
        summary, _ = summarize(args.file, stored, year=vigil.clock.now().year)
        chain = None
        if model_enabled(vigil.settings) and summary["records"]:
            from pathlib import Path

            chain = asyncio.run(vigil.build_chain(vigil.workspace(Path.cwd())))
        summary["written"] = asyncio.run(written(summary, chain))
    if args.json:
        print(json.dumps(summary, ensure_ascii=False))
    else:
        print(render(summary))
    return 0


def render(summary: dict[str, Any]) -> str:
    lines = [summary["written"]["text"], ""]
    span = summary["span"]
    if span["first"]:
        lines.append(f"span      {span['first']} .. {span['last']}")
    rate = summary["rate_per_minute"]
    lines.append(
        f"records   {summary['records']:,} ({summary['lines']:,} lines)"
        + (f", {rate:,.1f}/min" if rate is not None else "")
    )
    lines.append(
        f"levels    errors {summary['error_share'] * 100:.1f}%, "
        f"warnings {summary['warning_share'] * 100:.1f}%"
    )
    lines.append(f"templates {summary['templates']:,}")
    for top in summary["top_templates"]:
        lines.append(
            f"  {top['count']:>8,} {top['share'] * 100:5.1f}%  {top['template_id']:<6} "
            f"{top['template'][:160]}"
        )
    if summary["known_templates"]:
        lines.append(f"new       {len(summary['new_templates'])} templates never seen before")
        for new in summary["new_templates"][:10]:
            lines.append(f"  line {new['first_line']:<8} {new['template'][:160]}")
    first = summary["first_error"]
    if first:
        lines.append(f"first error, line {first['line']}:")
        for item in first["before"]:
            lines.append(f"    {item['line']:>8}  {item['text']}")
        lines.append(f"  > {first['line']:>8}  {first['text']}")
        for item in first["after"]:
            lines.append(f"    {item['line']:>8}  {item['text']}")
    return "\n".join(lines)


def _ring(ring: Any, home: Any) -> None:
    ring(home)  # wake the daemon, if one runs, for the anomalies just stored


def cmd_follow(args: argparse.Namespace) -> int:
    import asyncio
    import contextlib
    import signal

    from vigil.app.logfollow import LogStream, file_spec
    from vigil.cli.context import open_vigil
    from vigil.events.doorbell import ring

    spec = file_spec(args.path, from_start=args.from_start)
    if spec.path is not None and spec.path.is_dir():
        from vigil.errors import InputError

        raise InputError(f"{args.path} is a directory, not a log file")
    with open_vigil() as vigil:
        vigil.ensure_schema()
        home = vigil.settings.home

        def show(record: Any, template: Any, anomalies: list[Any]) -> None:
            if args.json:
                print(
                    json.dumps(
                        {
                            "line": record.raw,
                            "template_id": template.id,
                            "template": template.text,
                            "level": record.level,
                            "anomalies": [e.to_dict() for e in anomalies],
                        },
                        ensure_ascii=False,
                    ),
                    flush=True,
                )
                return
            print(f"{template.id}\t{record.raw}", flush=True)
            for event in anomalies:
                data = event.data
                print(
                    f"  !! {data['kind']}: {data['template']}  ({event.id})",
                    flush=True,
                )

        stream = LogStream(
            spec,
            event_log=vigil.log,
            state=vigil.log_state,
            clock=vigil.clock,
            wake=lambda: _ring(ring, home),
            source="vigil.cli",
            printer=show,
            resume=False,
            notice=lambda text: print(f"vigil: {text}", file=sys.stderr, flush=True),
        )

        async def main() -> None:
            loop = asyncio.get_running_loop()
            task = asyncio.create_task(stream.run())
            for signum in (signal.SIGINT, signal.SIGTERM):
                with contextlib.suppress(RuntimeError, ValueError):
                    loop.add_signal_handler(signum, task.cancel)
            while stream.follower is None or not stream.follower.ready.is_set():
                if task.done():
                    break
                await asyncio.sleep(0.01)
            if not task.done():
                where = "its start" if args.from_start else "its end"
                print(f"vigil: following {spec.label} from {where}", file=sys.stderr, flush=True)
            with contextlib.suppress(asyncio.CancelledError):
                await task

        asyncio.run(main())
    return 0
