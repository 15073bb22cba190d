"""The notification inbox (every request, its decision and why) and the digest."""

from __future__ import annotations

from typing import Any

from vigil.api.dashboard.data import Inbox
from vigil.api.dashboard.html import Html, badge, el, join, when


def _decision(entry: dict[str, Any]) -> Html:
    decision = entry.get("decision")
    if not decision:
        return el("p", {"class": "why"}, "Not decided yet (the notifier runs in the daemon).")
    channel = decision.get("channel") or ", ".join(decision.get("channels") or [])
    score = decision.get("score")
    return el(
        "p",
        {"class": "why"},
        f"{entry['status']} by the {decision.get('gate')} gate: {decision.get('reason')}",
        f" (score {float(score):.2f})" if isinstance(score, int | float) else "",
        f" · to {channel}" if channel else "",
        f" · until {str(decision.get('until'))[11:16]} UTC" if decision.get("until") else "",
    )


def _entry(entry: dict[str, Any], spoken: bool) -> Html:
    rid = str(entry["id"])
    audio = ""
    if spoken:
        audio = el(
            "audio",
            {"controls": True, "preload": "none", "src": f"/notifications/{rid}.wav"},
            el("a", {"href": f"/notifications/{rid}.wav"}, "the spoken notice (WAV)"),
        )
    return el(
        "li",
        {"class": f"notice {entry['status']}"},
        el(
            "p",
            {"class": "head"},
            when(entry.get("time")),
            " ",
            badge(str(entry.get("severity"))),
            " ",
            el("strong", None, entry.get("title") or "(untitled)"),
            " ",
            badge(str(entry["status"])),
            " · ",
            el("a", {"href": f"/why/{rid}"}, "why"),
        ),
        el("p", {"class": "body"}, entry.get("body") or "") if entry.get("body") else "",
        _decision(entry),
        join(
            el("p", {"class": "failed"}, f"{f.get('channel')} failed: {f.get('error')}")
            for f in entry.get("failed") or []
        ),
        audio,
    )


def inbox_section(found: Inbox) -> Html:
    if not found.entries:
        return el("p", {"class": "empty"}, "Nothing has asked for your attention yet.")
    lines = [
        el(
            "li",
            None,
            f"{line.count}x " if line.count > 1 else "",
            badge(line.severity),
            " ",
            el("strong", None, line.title),
            f" — {line.status} by the {line.gate} gate: {line.reason}",
        )
        for line in found.digest
    ]
    digest = (
        el("ul", {"class": "digest"}, lines)
        if lines
        else el("p", {"class": "empty"}, "Nothing held back.")
    )
    return join(
        [
            el("h3", None, "Digest: held back"),
            digest,
            el("h3", None, "Inbox"),
            el(
                "ol",
                {"class": "inbox"},
                [_entry(e, e["id"] in found.spoken) for e in found.entries],
            ),
        ]
    )
