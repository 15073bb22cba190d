"""The MCP server's view of one Vigil home: :class:`StoreFace` implements
:class:`vigil.api.mcp.MemoryFace` over the stores (the reasoning layer's read-only workspace for
state, events and triage; the knowledge base for search and ``remember``; the briefing).

``remember`` validates before it writes: empty text and text over
:data:`vigil.app.memory.MAX_REMEMBER` characters are refused with the reason; a near-duplicate is
merged into the entry it repeats (provenance kept, see :mod:`vigil.memory.hygiene`).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from vigil.errors import ValidationError
from vigil.memory.entry import MAX_TITLE

if TYPE_CHECKING:
    from vigil.app import Vigil


class StoreFace:
    """What MCP clients may read and propose, over one process's stores."""

    def __init__(self, vigil: Vigil, project_dir: Path) -> None:
        self.vigil = vigil
        self.workspace = vigil.workspace(project_dir)

    def search_knowledge(self, query: str, limit: int) -> list[dict[str, Any]]:
        from vigil.memory import hygiene

        results = self.workspace.search_knowledge(query, limit)
        hygiene.record(self.vigil.db, [str(r["id"]) for r in results], self.vigil.clock.now())
        return results

    def recent_events(
        self, type_pattern: str, limit: int, since: str | None
    ) -> list[dict[str, Any]]:
        return self.workspace.recent_events(type_pattern, limit, since)

    def project_state(self) -> dict[str, Any]:
        return self.workspace.project_state()

    def get_triage(self, event_id: str | None) -> dict[str, Any]:
        return self.workspace.triage_of(event_id)

    def briefing(self) -> dict[str, Any]:
        from vigil.app.memory import briefing, since_last_session

        _, since = since_last_session(self.vigil)
        return briefing(self.vigil, since)

    def remember(
        self, text: str, title: str | None, kind: str, tags: list[str], client: str
    ) -> dict[str, Any]:
        from vigil.app.memory import MAX_REMEMBER
        from vigil.memory import hygiene
        from vigil.memory.entry import check_kind, check_tags

        body = text.strip()
        if not body:
            raise ValidationError("remember: the text is empty; nothing was stored", field="text")
        if len(body) > MAX_REMEMBER:
            raise ValidationError(
                f"remember: the text has {len(body)} characters, more than {MAX_REMEMBER};"
                " store a short note (link to the rest); nothing was stored",
                field="text",
            )
        heading = (title or body.splitlines()[0]).strip().lstrip("#").strip()
        if len(heading) > MAX_TITLE:
            heading = heading[: MAX_TITLE - 1] + "…"
        kind = check_kind(kind)
        tags = list(check_tags(tags))
        origin = {
            "source": "api",
            "author": client,
            "via": "mcp",
            "client": client,
            "at": self.vigil.clock.now().isoformat(),
        }
        kb = self.vigil.knowledge
        twin = hygiene.near_duplicate(kb, kind, heading, body)
        if twin is not None:
            entry = hygiene.merge_into(kb, twin, heading, tags, origin)
            return {"stored": "merged", "entry": _brief_entry(entry.to_dict())}
        entry = kb.add(
            kind,
            heading,
            body=body,
            tags=tags,
            status="candidate",
            confidence=0.5,
            provenance=origin,
        )
        return {
            "stored": "candidate",
            "entry": _brief_entry(entry.to_dict()),
            "note": f"a person confirms it with: vigil kb confirm {entry.id}",
        }

    def entry(self, entry_id: str) -> dict[str, Any]:
        from vigil.memory import hygiene

        entry = self.vigil.knowledge.get(entry_id)
        hygiene.record(self.vigil.db, [entry.id], self.vigil.clock.now(), used=True)
        return entry.to_dict()

    def entries(self, limit: int) -> list[dict[str, Any]]:
        return [_brief_entry(e.to_dict()) for e in self.vigil.knowledge.list(limit=limit)]


def _brief_entry(entry: dict[str, Any]) -> dict[str, Any]:
    keys = ("id", "kind", "title", "status", "confidence", "tags", "seen", "updated")
    return {k: entry.get(k) for k in keys}
