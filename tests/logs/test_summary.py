"""The written summary: deterministic rules, and a model only when asked and grounded."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vigil.app.logsummary import summarize, written


@dataclass
class Answer:
    text: str


@dataclass
class Run:
    value: Answer
    provider: str
    model: str
    kind: str


class FakeChain:
    """A provider chain at the model boundary: answers with a fixed text from a fixed kind."""

    def __init__(self, text: str, kind: str = "openai") -> None:
        self.text, self.kind = text, kind
        self.asked: list[Any] = []

    async def complete(self, request: Any, *, deadline: float) -> Run:
        self.asked.append(request)
        return Run(Answer(self.text), "groq", "llama", self.kind)


def _summary(tmp_path: Path) -> dict[str, Any]:
    log = tmp_path / "app.log"
    log.write_text(
        "".join(f"2026-01-02T03:04:{i:02d}Z INFO job {i} done\n" for i in range(40))
        + "2026-01-02T03:04:41Z ERROR job 41 failed: disk full\n"
    )
    summary, _ = summarize(str(log))
    return summary


async def test_the_rules_write_the_same_summary_every_time(tmp_path: Path) -> None:
    """Without a chain the rules answer, and the same numbers give the same words."""
    summary = _summary(tmp_path)
    first, second = await written(summary, None), await written(summary, None)
    assert first == second and first["by"] == "rules" and first["step"] == "logs_summary"
    assert first["text"].startswith("41 records over 41s")
    assert "First error at line 41" in first["text"]


async def test_a_model_answer_is_used_only_when_it_keeps_to_the_facts(tmp_path: Path) -> None:
    """A model's text replaces the rules' only if it cites the record count; the rules provider
    answering, or an ungrounded text, leaves the rules' summary."""
    summary = _summary(tmp_path)
    grounded = await written(summary, FakeChain("41 records; one job failed on a full disk."))
    assert grounded["by"] == "groq" and grounded["text"].startswith("41 records")
    vague = await written(summary, FakeChain("Things look mostly fine."))
    assert vague["by"] == "rules" and vague["model_rejected"] == "groq"
    rules = await written(summary, FakeChain("41 records", kind="rules"))
    assert rules["by"] == "rules"
