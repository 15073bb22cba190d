"""``vigil kb``: the knowledge base from the command line.

``add_parser(subparsers)`` registers ``kb`` and its commands; each command stores its handler as
``kb_handler`` (``handler(args, kb) -> exit code``), and the caller opens the database, builds the
:class:`~vigil.memory.KnowledgeBase` and calls it. Handlers print to stdout and raise
:class:`~vigil.errors.VigilError` for anything the user must fix (one line, non-zero exit).
Reading commands (and the ones that print an entry) take ``--json``.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from vigil.errors import InputError, UsageError
from vigil.memory.entry import KINDS, STATUSES

if TYPE_CHECKING:
    from vigil.memory.entry import Entry, SearchHit
    from vigil.memory.knowledge import KnowledgeBase

Handler = Callable[[argparse.Namespace, "KnowledgeBase"], int]
P = TypeVar("P", bound=argparse.ArgumentParser)
_TITLE_WIDTH = 72


def add_parser(subparsers: argparse._SubParsersAction[P]) -> P:
    """Register ``kb`` and its commands on ``subparsers``; returns the ``kb`` parser."""
    kb = subparsers.add_parser(
        "kb",
        help="the knowledge base: fixes, decisions, mistakes, patterns, notes",
        description="Search and edit Vigil's long-term memory.",
    )
    commands = kb.add_subparsers(dest="kb_command", metavar="COMMAND", required=True)
    kinds = ", ".join(KINDS)

    add = _command(commands, "add", "add an entry", _add)
    add.add_argument("kind", metavar="KIND", help=f"one of {kinds}")
    add.add_argument("title", metavar="TITLE")
    _body_options(add)
    add.add_argument("--tag", action="append", default=[], metavar="TAG", help="repeatable")
    add.add_argument("--fingerprint", action="append", default=[], metavar="FP", help="repeatable")
    add.add_argument("--confidence", type=float, default=1.0, metavar="0..1")
    add.add_argument("--author", metavar="NAME", help="who wrote it (kept in provenance)")
    _json_option(add)

    search = _command(commands, "search", "full-text search", _search)
    search.add_argument("query", nargs="+", metavar="WORD")
    search.add_argument("--kind", metavar="KIND", help=f"only this kind ({kinds})")
    search.add_argument("--limit", type=int, default=10, metavar="N")
    search.add_argument("--all", action="store_true", help="include rejected entries")
    search.add_argument("--words", action="store_true", help="full-text only (no semantic recall)")
    _json_option(search)

    show = _command(commands, "show", "show one entry", _show)
    show.add_argument("id", metavar="ID", help="an id or a unique start of one")
    _json_option(show)

    listing = _command(commands, "list", "list entries, most recently updated first", _list)
    listing.add_argument("--kind", metavar="KIND", help=f"only this kind ({kinds})")
    listing.add_argument(
        "--status", metavar="STATUS", help=f"only this status ({', '.join(STATUSES)})"
    )
    listing.add_argument("--tag", metavar="TAG")
    listing.add_argument("--limit", type=int, default=50, metavar="N")
    _json_option(listing)

    remove = _command(commands, "rm", "delete an entry", _rm)
    remove.add_argument("id", metavar="ID")

    export = _command(commands, "export", "write entries as Markdown files", _export)
    export.add_argument("directory", type=Path, metavar="DIR")
    _json_option(export)

    imports = _command(
        commands, "import", "read entries from Markdown files (all or nothing)", _import
    )
    imports.add_argument("paths", nargs="+", type=Path, metavar="PATH", help="files or directories")
    _json_option(imports)

    confirm = _command(commands, "confirm", "vouch for an entry (a learned fix)", _confirm)
    confirm.add_argument("id", metavar="ID")
    confirm.add_argument("--by", metavar="NAME")
    _json_option(confirm)

    reject = _command(commands, "reject", "mark an entry wrong; never offered again", _reject)
    reject.add_argument("id", metavar="ID")
    reject.add_argument("--by", metavar="NAME")
    reject.add_argument("--reason", metavar="TEXT")
    _json_option(reject)

    stats = _command(commands, "stats", "counts; the share of entries ever shown or used", _stats)
    _json_option(stats)

    index = _command(commands, "index", "compute missing vectors for semantic recall", _index)
    _json_option(index)

    retire = _command(
        commands, "retire", "retire candidates unconfirmed for N days (kept in export)", _retire
    )
    retire.add_argument(
        "--days", type=int, metavar="N", help="default: [memory] retire_candidates_days (60)"
    )
    _json_option(retire)

    edit = _command(commands, "edit", "change fields of an entry", _edit)
    edit.add_argument("id", metavar="ID")
    edit.add_argument("--title")
    _body_options(edit)
    edit.add_argument("--kind", metavar="KIND")
    edit.add_argument("--tag", action="append", metavar="TAG", help="repeatable; replaces the tags")
    edit.add_argument("--fingerprint", action="append", metavar="FP", help="repeatable; replaces")
    edit.add_argument("--confidence", type=float, metavar="0..1")
    _json_option(edit)
    return kb


def _command(
    commands: argparse._SubParsersAction[P], name: str, summary: str, handler: Handler
) -> P:
    parser = commands.add_parser(name, help=summary, description=summary[0].upper() + summary[1:])
    parser.set_defaults(kb_handler=handler)
    return parser


def _json_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print JSON")


def _body_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--body", metavar="TEXT", help="Markdown text")
    group.add_argument("--body-file", type=Path, metavar="FILE", help="read the body ('-': stdin)")


# --- handlers -----------------------------------------------------------------------------------


def _add(args: argparse.Namespace, kb: KnowledgeBase) -> int:
    entry = kb.add(
        args.kind,
        args.title,
        body=_body(args) or "",
        tags=args.tag,
        fingerprints=args.fingerprint,
        confidence=args.confidence,
        provenance={"source": "cli", "author": args.author},
    )
    return _print_entry(args, entry, "added")


def _search(args: argparse.Namespace, kb: KnowledgeBase) -> int:
    query = " ".join(args.query)
    hits = kb.search(
        query,
        limit=_limit(args.limit),
        kind=args.kind,
        include_rejected=args.all,
        mode="words" if args.words else "auto",
    )
    _record(kb, [hit.entry.id for hit in hits])
    if args.json:
        _print_json([hit.to_dict() for hit in hits])
    elif not hits:
        print(f"no entries match {query!r}")
    else:
        for line in _search_lines(hits, bold=_terminal()):
            print(line)
    return 0


def _show(args: argparse.Namespace, kb: KnowledgeBase) -> int:
    entry = kb.get(args.id)
    _record(kb, [entry.id], used=True)
    if args.json:
        _print_json(entry.to_dict())
    else:
        print("\n".join(_details(entry, colour=_terminal())))
    return 0


def _list(args: argparse.Namespace, kb: KnowledgeBase) -> int:
    entries = kb.list(kind=args.kind, status=args.status, tag=args.tag, limit=_limit(args.limit))
    if args.json:
        _print_json([entry.to_dict() for entry in entries])
    elif not entries:
        print("no entries")
    else:
        for line in _table(entries):
            print(line)
    return 0


def _rm(args: argparse.Namespace, kb: KnowledgeBase) -> int:
    entry = kb.remove(args.id)
    print(f"removed {entry.id}  {entry.title}")
    return 0


def _export(args: argparse.Namespace, kb: KnowledgeBase) -> int:
    files = kb.export(args.directory)
    if args.json:
        _print_json({"directory": str(args.directory), "files": [str(f) for f in files]})
    else:
        print(f"exported {_entries(len(files))} to {args.directory}")
    return 0


def _record(kb: KnowledgeBase, ids: list[str], *, used: bool = False) -> None:
    from vigil.memory import hygiene

    hygiene.record(kb.db, ids, kb.clock.now(), used=used)


def _stats(args: argparse.Namespace, kb: KnowledgeBase) -> int:
    from vigil.memory import hygiene

    figures = hygiene.stats(kb.db)
    figures["semantic"] = kb.semantic is not None
    if args.json:
        _print_json(figures)
        return 0
    share = figures["shown_or_used_share"]
    print(
        f"entries: {figures['entries']}  "
        + ", ".join(f"{k} {v}" for k, v in figures["by_kind"].items())
    )
    print("status:  " + (", ".join(f"{k} {v}" for k, v in figures["by_status"].items()) or "-"))
    print(f"retired: {figures['retired']} (kept; exported)")
    print(
        f"ever shown or used: {figures['shown_or_used']}"
        + (f" ({share:.0%})" if share is not None else "")
    )
    print(
        f"semantic recall: {'on' if figures['semantic'] else 'off'}, {figures['vectors']} vectors"
    )
    return 0


def _index(args: argparse.Namespace, kb: KnowledgeBase) -> int:
    if kb.semantic is None:
        from vigil.errors import ConfigError
        from vigil.memory.embedder import INSTALL_HINT

        raise ConfigError(f"semantic recall is off or not installed: {INSTALL_HINT}")
    done = kb.index()
    if args.json:
        _print_json({"indexed": done, "vectors": kb.semantic.count()})
    else:
        print(f"indexed {_entries(done)} ({kb.semantic.count()} vectors in all)")
    return 0


def _retire(args: argparse.Namespace, kb: KnowledgeBase) -> int:
    from vigil.memory import hygiene

    days = args.days if args.days is not None else kb.retire_after_days
    if days < 1:
        raise UsageError(f"--days must be at least 1, not {days}")
    retired = hygiene.retire_candidates(kb, kb.db, kb.clock.now(), days)
    if args.json:
        _print_json({"retired": retired, "days": days})
    else:
        print(f"retired {_entries(len(retired))} (candidates unconfirmed for {days} days)")
    return 0


def _import(args: argparse.Namespace, kb: KnowledgeBase) -> int:
    report = kb.import_(args.paths)
    if report.created or report.updated:
        kb.index()  # imported entries are searchable by meaning too, at once
    if args.json:
        _print_json(
            {
                "created": list(report.created),
                "updated": list(report.updated),
                "unchanged": list(report.unchanged),
            }
        )
    else:
        new, changed, same = len(report.created), len(report.updated), len(report.unchanged)
        total = new + changed + same
        print(f"imported {_entries(total)} ({new} new, {changed} updated, {same} unchanged)")
    return 0


def _confirm(args: argparse.Namespace, kb: KnowledgeBase) -> int:
    return _print_entry(args, kb.confirm(args.id, by=args.by), "confirmed")


def _reject(args: argparse.Namespace, kb: KnowledgeBase) -> int:
    return _print_entry(args, kb.reject(args.id, by=args.by, reason=args.reason), "rejected")


def _edit(args: argparse.Namespace, kb: KnowledgeBase) -> int:
    changes: dict[str, Any] = {
        "title": args.title,
        "body": _body(args),
        "kind": args.kind,
        "tags": args.tag,
        "fingerprints": args.fingerprint,
        "confidence": args.confidence,
    }
    if all(value is None for value in changes.values()):
        raise UsageError(
            "kb edit: nothing to change (give --title, --body, --body-file, --kind, --tag,"
            " --fingerprint or --confidence)"
        )
    entry = kb.update(
        args.id,
        title=args.title,
        body=changes["body"],
        kind=args.kind,
        tags=args.tag,
        fingerprints=args.fingerprint,
        confidence=args.confidence,
    )
    return _print_entry(args, entry, "updated")


# --- output -------------------------------------------------------------------------------------


def _body(args: argparse.Namespace) -> str | None:
    if args.body is not None:
        return str(args.body)
    path: Path | None = args.body_file
    if path is None:
        return None
    try:
        data = sys.stdin.buffer.read() if str(path) == "-" else path.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror}", path=str(path)) from exc
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise InputError(f"{path}: not valid UTF-8 text", path=str(path)) from None


def _limit(value: int) -> int:
    if value < 1:
        raise UsageError(f"--limit must be at least 1, not {value}")
    return value


def _print_json(value: object) -> None:
    print(json.dumps(value, ensure_ascii=False, indent=2))


def _print_entry(args: argparse.Namespace, entry: Entry, verb: str) -> int:
    if args.json:
        _print_json(entry.to_dict())
    else:
        print(f"{verb} {_row(entry)}")
    return 0


def _clip(text: str, width: int = _TITLE_WIDTH) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def _row(entry: Entry) -> str:
    return (
        f"{entry.id}  {entry.kind:<8}  {entry.status:<9}  {entry.confidence:4.2f}  "
        f"{_clip(entry.title)}"
    )


def _table(entries: Sequence[Entry]) -> list[str]:
    header = f"{'ID':<29}  {'KIND':<8}  {'STATUS':<9}  {'CONF':>4}  TITLE"
    return [header, *(_row(entry) for entry in entries)]


def _entries(count: int) -> str:
    return f"{count} {'entry' if count == 1 else 'entries'}"


def _terminal() -> bool:
    return hasattr(sys.stdout, "isatty") and sys.stdout.isatty()


_HIGHLIGHT = re.compile(r"\*\*([^*\s][^*]*?)\*\*")


def highlight(snippet: str, *, bold: bool) -> str:
    """A search snippet's ``**word**`` marks as bold on a terminal, dropped elsewhere (plain
    text for pipes and files; ``--json`` keeps the marks as they are)."""
    if bold:
        return _HIGHLIGHT.sub(lambda match: f"\x1b[1m{match.group(1)}\x1b[0m", snippet)
    return _HIGHLIGHT.sub(r"\1", snippet)


def _search_lines(hits: Sequence[SearchHit], *, bold: bool = False) -> list[str]:
    lines = [f"{'ID':<29}  {'KIND':<8}  {'STATUS':<9}  {'CONF':>4}  {'SCORE':>5}  TITLE"]
    for hit in hits:
        entry = hit.entry
        lines.append(
            f"{entry.id}  {entry.kind:<8}  {entry.status:<9}  {entry.confidence:4.2f}  "
            f"{hit.score:5.2f}  {_clip(entry.title)}"
        )
        if hit.snippet:
            shown = _clip(hit.snippet, 100)
            if shown.count("**") % 2:  # a mark cut in half by the clip
                shown = "".join(shown.rsplit("**", 1))
            lines.append(f"{'':<31}{highlight(shown, bold=bold)}")
    return lines


def _details(entry: Entry, *, colour: bool = False) -> list[str]:
    origin = entry.provenance
    source = str(origin.get("source", "?"))
    if origin.get("author"):
        source += f" by {origin['author']}"
    lines = [
        _row(entry),
        f"  tags:         {', '.join(entry.tags) or '-'}",
        f"  fingerprints: {', '.join(entry.fingerprints) or '-'}",
        f"  seen:         {entry.seen}",
        f"  source:       {source}",
        f"  created:      {entry.created}",
        f"  updated:      {entry.updated}",
    ]
    extra = {k: v for k, v in origin.items() if k not in ("source", "author")}
    if any(extra.values()):
        lines.append(f"  provenance:   {json.dumps(extra, ensure_ascii=False, sort_keys=True)}")
    if entry.body:
        lines += ["", entry.body]
    if entry.diff:
        lines += ["", "change:", *(_diff_line(line, colour) for line in entry.diff.splitlines())]
    return lines


def _diff_line(line: str, colour: bool) -> str:
    if not colour or line.startswith(("---", "+++")):
        return f"  {line}"
    code = {"-": "31", "+": "32", "@": "36", "\\": "2"}.get(line[:1])
    return f"  \x1b[{code}m{line}\x1b[0m" if code else f"  {line}"
