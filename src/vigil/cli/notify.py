"""``vigil notify``, ``vigil inbox``, ``vigil digest``, ``vigil focus``; ``vigil why`` for them.

``vigil notify`` publishes a request (source ``vigil.cli``: a person's own, always delivered).
With a daemon running, the daemon decides and delivers it; without one it is decided and
delivered here, exactly once (a daemon started later finds it done).
"""

from __future__ import annotations

import argparse
from typing import Any

from vigil.errors import UsageError

# Registered by `vigil`'s parser on every start: the commands import what they need themselves.
NOTIFICATION_REQUESTED = "notification.requested"
FOCUS_CHANGED = "attention.focus.changed"

SEVERITIES = ("info", "warning", "error", "critical")
_MARK = {"delivered": "✓", "deferred": "…", "suppressed": "-", "rejected": "✗", "pending": "?"}


def add_parser(sub: Any) -> None:
    """Register the attention commands."""
    from vigil.cli.main import _lazy

    notify = sub.add_parser("notify", help="tell yourself something (always delivered)")
    notify.add_argument("title", metavar="TITLE")
    notify.add_argument("--body", default="", metavar="B")
    notify.add_argument("--severity", default="info", choices=SEVERITIES, metavar="S")
    notify.add_argument("--fingerprint", metavar="F", help="what makes two notices the same")
    notify.add_argument("--json", action="store_true", help="print the request and its decision")
    notify.set_defaults(func=_lazy("vigil.cli.notify", "cmd_notify"))

    inbox = sub.add_parser("inbox", help="every notification requested, with its decision")
    inbox.add_argument("--json", action="store_true", help="print a JSON array")
    inbox.add_argument(
        "--limit", type=int, metavar="N", help="the newest N (text: 50; --json: all)"
    )
    inbox.add_argument("--since", metavar="TIME", help="10m, 2h, 3d, today or ISO 8601")
    inbox.set_defaults(func=_lazy("vigil.cli.notify", "cmd_inbox"))

    digest = sub.add_parser("digest", help="what was held back, one line per kind")
    digest.add_argument("--json", action="store_true", help="print JSON")
    digest.add_argument("--since", metavar="TIME", help="default: 24 h before the newest request")
    digest.set_defaults(func=_lazy("vigil.cli.notify", "cmd_digest"))

    focus = sub.add_parser("focus", help="hold interruptions for a while: 45m, 2h, off")
    focus.add_argument("duration", nargs="?", metavar="DURATION|off")
    focus.add_argument("--json", action="store_true", help="print JSON")
    focus.set_defaults(func=_lazy("vigil.cli.notify", "cmd_focus"))


def _since(text: str | None) -> str | None:
    from vigil.clock import SystemClock, isoformat, parse_since

    return isoformat(parse_since(text, SystemClock().now())) if text else None


def cmd_notify(args: argparse.Namespace) -> int:
    import json

    from vigil.cli.context import open_vigil
    from vigil.events.doorbell import is_listening

    title = " ".join(str(args.title).split())
    if not title:
        raise UsageError("vigil notify: the title must not be empty")
    data: dict[str, Any] = {"title": title, "body": args.body or "", "severity": args.severity}
    if args.fingerprint:
        data["fingerprint"] = args.fingerprint
    with open_vigil() as vigil:
        vigil.ensure_schema()
        request = vigil.event(NOTIFICATION_REQUESTED, data)
        (stored,) = vigil.publish([request])
        decisions = []
        if not is_listening(vigil.settings.home):
            from vigil.app.attention import decide_here

            decisions = decide_here(vigil, stored)
    if args.json:
        print(
            json.dumps(
                {"id": stored.id, "decisions": [d.to_dict() for d in decisions]},
                ensure_ascii=False,
            )
        )
        return 0
    if not decisions:
        print(f"requested {stored.id}: the daemon decides (vigil why {stored.id})")
        return 0
    last = decisions[-1]
    where = ", ".join(last.data.get("channels") or []) or "-"
    print(f"{last.type.rsplit('.', 1)[1]} {stored.id} ({where}): {last.data.get('reason')}")
    return 0


def _entry_line(entry: dict[str, Any]) -> str:
    status = entry["status"]
    decision = entry["decision"] or {}
    when = entry["time"][:16].replace("T", " ")
    why = f"{decision.get('gate')}: {decision.get('reason')}" if decision else "not decided yet"
    if status == "delivered":
        why = f"{', '.join(decision.get('channels') or [])}; {why}"
    failed = "".join(f" [{f['channel']} failed: {f['error']}]" for f in entry["failed"])
    title = entry["title"] if entry["title"] is not None else "(no title)"
    return (
        f"{when}  {_MARK.get(status, '?')} {status:<10} {entry['severity']:<8} {title}"
        f"  ({entry['id']}; {why}){failed}"
    )


def cmd_inbox(args: argparse.Namespace) -> int:
    import json

    from vigil.cli.context import open_vigil
    from vigil.notify.channels.terminal import take
    from vigil.notify.inbox import inbox

    if args.limit is not None and args.limit < 0:
        raise UsageError("--limit must not be negative")
    limit = args.limit if args.limit is not None else (None if args.json else 50)
    with open_vigil() as vigil:
        vigil.ensure_schema()
        entries = inbox(vigil.log, since=_since(args.since), limit=limit)
        take(vigil.settings.home)  # reading the inbox is seeing them: no terminal echo after
    if args.json:
        print(json.dumps(entries, ensure_ascii=False))
        return 0
    if not entries:
        print("the inbox is empty")
    for entry in entries:
        print(_entry_line(entry))
    return 0


def cmd_digest(args: argparse.Namespace) -> int:
    import json

    from vigil.cli.context import open_vigil
    from vigil.notify.inbox import default_since, digest, inbox

    with open_vigil() as vigil:
        vigil.ensure_schema()
        since = _since(args.since) if args.since else default_since(vigil.log)
        entries = inbox(vigil.log, since=since, limit=None)
    lines = digest(entries)
    held = sum(line.count for line in lines)
    if args.json:
        body = {
            "since": since,
            "requests": len(entries),
            "held_back": held,
            "lines": [line.to_dict() for line in lines],
        }
        print(json.dumps(body, ensure_ascii=False))
        return 0
    if not lines:
        print("nothing held back")
        return 0
    print(f"held back: {held} of {len(entries)} request(s), in {len(lines)} line(s)")
    for line in lines:
        print(line.text())
    return 0


def cmd_focus(args: argparse.Namespace) -> int:
    import json
    from datetime import timedelta

    from vigil.cli.context import open_vigil
    from vigil.clock import isoformat, parse_iso
    from vigil.config.attention import parse_duration

    with open_vigil() as vigil:
        vigil.ensure_schema()
        if args.duration is None:
            found = vigil.log.find(patterns=[FOCUS_CHANGED], limit=1)
            until = found[0].data.get("until") if found else None
            active = bool(until) and parse_iso(str(until)) > vigil.clock.now()
            if args.json:
                print(json.dumps({"focus": active, "until": until if active else None}))
            else:
                print(f"focus until {until}" if active else "no focus")
            return 0
        text = str(args.duration).strip().lower()
        if text in ("off", "0", "none", "stop"):
            until = None
        else:
            seconds = parse_duration(text, "vigil focus: DURATION")
            if seconds <= 0 or seconds > 7 * 86400:
                raise UsageError("vigil focus: DURATION must be between 1s and 7d (or off)")
            until = isoformat(vigil.clock.now() + timedelta(seconds=seconds))
        event = vigil.event(FOCUS_CHANGED, {"until": until})
        (stored,) = vigil.publish([event])
    if args.json:
        print(json.dumps({"id": stored.id, "until": until}))
    elif until is None:
        print("focus off: notices come through again")
    else:
        local = parse_iso(until).astimezone().strftime("%H:%M")
        print(f"focus until {local}: notices wait (critical ones still come through)")
    return 0


# -- vigil why, for a request or a decision ---------------------------------------------------


def explain_lines(found: dict[str, Any]) -> list[str]:
    entry = found["request"]
    lines = [
        f'why {entry["id"]}: {entry["severity"]} "{entry["title"]}" '
        f"asked at {entry['time'][:19].replace('T', ' ')} by {entry['source']}"
        + (
            f", because of {found['cause']['type']} {found['cause']['id']}"
            if found["cause"]
            else ""
        )
    ]
    if not found["decisions"]:
        lines.append("  not decided yet (the notifier runs in the daemon: vigil up)")
    for decision in found["decisions"]:
        data = decision["data"]
        kind = decision["type"].rsplit(".", 1)[1]
        head = f"{kind} at {decision['time'][:19].replace('T', ' ')} by the {data.get('gate')} gate"
        lines.append(f"  {head}: {data.get('reason')} (score {data.get('score')})")
        parts = data.get("score_parts") or {}
        if parts:
            lines.append("    score: " + ", ".join(f"{k} {v:+.2f}" for k, v in parts.items()))
        for step in data.get("trace") or []:
            lines.append(f"    {step['gate']:<12} {step['outcome']:<8} {step['reason']}")
        if data.get("until"):
            lines.append(f"    looked at again at {data['until'][:19].replace('T', ' ')}")
    for failure in entry["failed"]:
        lines.append(f"  {failure['channel']} failed: {failure['error']}")
    return lines
